/**
 * The tool's own .xlsx reader, part by part: the XML scanner over a sheet's and the shared strings' XML fed in
 * pieces of every size, number formats that are dates, date serials, and the zip reader on archives written byte by
 * byte (test/support/zip.ts); then whole hand-written workbooks through openInput.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInput } from '../../src/input/index.js';
import { isDateFormat, serialDate } from '../../src/input/xlsx-book.js';
import { type CellContext, type SheetRow, sheetRows } from '../../src/input/xlsx-sheet.js';
import { SpooledStrings, readSharedStrings } from '../../src/input/xlsx-strings.js';
import { ZipFile, zipReads } from '../../src/input/zip.js';
import { sheetXml, workbookZip, zip } from '../support/zip.js';
import { readAll, tempDir, usageError } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

/** `bytes` in pieces of `size` bytes (a character's UTF-8 bytes cut too); 0: whole. */
async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  if (size === 0) {
    yield bytes;
    return;
  }
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const SIZES = [1, 2, 7, 13, 0];

async function rowsOf(xml: string, size: number, cx: CellContext): Promise<SheetRow[]> {
  const rows: SheetRow[] = [];
  for await (const batch of sheetRows(pieces(Buffer.from(xml), size), cx)) rows.push(...batch);
  return rows;
}

const utc = (...a: [number, number, number, number?, number?, number?]) => new Date(Date.UTC(a[0], a[1] - 1, a[2], a[3] ?? 0, a[4] ?? 0, a[5] ?? 0));

describe('sheet XML → rows', () => {
  const shared = ['first', 'second'];
  // Styles: 0 General, 1 built-in date (14), 2 a custom date and time, 3 a custom number with a quoted "d".
  const cx: CellContext = { sharedString: (i) => shared[i], dateStyles: [false, true, true, false], date1904: false };
  const xml = sheetXml(
    [
      '<row r="1" spans="1:4"><c r="A1" t="s"><v>0</v></c>',
      '<c r="B1" t="inlineStr"><is><t xml:space="preserve"> a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#20013;&#x6587; </t></is></c>',
      '<c r="C1" t="inlineStr"><is><r><rPr><b/></rPr><t>bold</t></r><r><t>-plain</t></r><rPh sb="0" eb="1"><t>ふりがな</t></rPh></is></c>',
      '<c r="D1" t="inlineStr"><is><t>tab_x0009_here _x005F_x0041_ 交换机</t></is></c></row>',
      '<row r="2"><c r="A2" t="b"><v>1</v></c><c r="B2" t="b"><v>0</v></c><c r="C2" t="e"><v>#N/A</v></c><c r="D2"><v>42.5</v></c><c r="E2" s="1"/><c r="F2" t="str"><v></v></c></row>',
      '<row r="3"><c r="A3"><f>B3*2</f><v>96</v></c><c r="B3"><f>A1</f></c><c r="C3" t="str"><f t="shared" ref="C3:C4" si="0">UPPER(A1)</f><v>ABC</v></c>',
      '<c r="D3" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>',
      '<row r="4"><c r="C4" t="str"><f t="shared" si="0"/><v>DEF</v></c></row>',
      '<!-- a comment <c r="Z1"><v>9</v></c> -->',
      '<row r="6"><c r="A6" s="1"><v>45413</v></c><c r="B6" s="2"><v>45413.545138888891</v></c><c r="C6" s="3"><v>45413</v></c>',
      '<c r="D6" s="1"><v>1</v></c><c r="E6" s="1"><v>59</v></c><c r="F6" s="1"><v>61</v></c><c r="G6" t="d"><v>2024-05-01T13:05:09</v></c></row>',
      '<row><c><v>1</v></c><c><v>2</v></c><c r="E7"><v>5</v></c><c><v>6</v></c></row>',
      '<x:row r="9"><x:c r="B9" t="s"><x:v>1</x:v></x:c><x:c r="C9" t="inlineStr"><x:is><x:t><![CDATA[<raw> & text]]></x:t></x:is></x:c></x:row>',
      '<row r="10"/>',
    ].join('\n'),
  );
  const expected: Array<[number, Array<[number, unknown]>]> = [
    [1, [[1, 'first'], [2, ' a & b <c> "d" \'e\' 中文 '], [3, 'bold-plain'], [4, 'tab\there _x0041_ 交换机']]],
    [2, [[1, true], [2, false], [3, { error: '#N/A' }], [4, 42.5], [6, '']]],
    [3, [[1, { formula: 'B3*2', result: 96 }], [2, { formula: 'A1', result: undefined }], [3, { formula: 'UPPER(A1)', result: 'ABC' }], [4, { formula: '1/0', result: { error: '#DIV/0!' } }]]],
    [4, [[3, { formula: '', result: 'DEF' }]]],
    [6, [[1, utc(2024, 5, 1)], [2, utc(2024, 5, 1, 13, 5)], [3, 45413], [4, utc(1900, 1, 1)], [5, utc(1900, 2, 28)], [6, utc(1900, 3, 1)], [7, utc(2024, 5, 1, 13, 5, 9)]]],
    [7, [[1, 1], [2, 2], [5, 5], [6, 6]]],
    [9, [[2, 'second'], [3, '<raw> & text']]],
    [10, []],
  ];
  const cells = (r: SheetRow) => r.values.flatMap((v, c) => (c in r.values ? [[c, v] as [number, unknown]] : []));

  it.each(SIZES)('reads every kind of cell, whatever the pieces (%i bytes a piece; 0: whole)', async (size) => {
    const rows = await rowsOf(xml, size, cx);
    expect(rows.map((r) => [r.number, cells(r)])).toEqual(expected);
  });

  it('the 1904 date system counts from 1904-01-01', async () => {
    const rows = await rowsOf(sheetXml('<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43951.5</v></c></row>'), 3, { ...cx, date1904: true });
    expect(rows[0]!.values.slice(1)).toEqual([utc(1904, 1, 1), utc(2024, 5, 1, 12)]);
  });

  it('a sheet that ends inside a tag is an error, not a short read', async () => {
    await expect(rowsOf(sheetXml('<row r="1"><c r="A1"><v>1</v></c></row>').slice(0, -20), 5, cx)).rejects.toThrow(/ends inside a tag/);
  });
});

describe('shared strings', () => {
  it.each(SIZES)('one text per <si>: rich runs joined, phonetic runs left out, escapes undone (%i bytes a piece)', async (size) => {
    const xml =
      '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">' +
      '<si><t>first</t></si>' +
      '<si><r><rPr><sz val="11"/><rFont val="宋体"/></rPr><t>sec</t></r><r><t xml:space="preserve">ond </t></r><rPh sb="0" eb="1"><t>セコンド</t></rPh><phoneticPr fontId="1"/></si>' +
      '<si><t/></si><si><t>a_x000D_b &amp; 中文</t></si></sst>';
    const table = new SpooledStrings({ block: 16, cachedBlocks: 2, writeBuffer: 8 });
    try {
      await readSharedStrings(pieces(Buffer.from(xml), size), table);
      expect([0, 1, 2, 3, 4].map((i) => table.get(i))).toEqual(['first', 'second ', '', 'a\rb & 中文', undefined]);
    } finally {
      table.close();
    }
  });
});

describe('number formats and date serials', () => {
  it('tells date formats from others', () => {
    for (const f of ['yyyy-mm-dd', 'd/m/yy h:mm', 'mm:ss', '[h]:mm:ss', '[$-804]yyyy"年"m"月"d"日"', '[Red]yyyy-mm-dd', 'h:mm AM/PM', 'DD.MM.YYYY']) {
      expect([f, isDateFormat(f)]).toEqual([f, true]);
    }
    for (const f of ['General', '0.00', '#,##0', '0.00E+00', '0"d"', '#,##0 "days"', '\\d0', '[Red]0.00', '_(* #,##0_);_(* (#,##0);_(* "-"_);_(@_)', '@']) {
      expect([f, isDateFormat(f)]).toEqual([f, false]);
    }
  });

  it('turns serials into the day Excel shows (the 1900 leap-year bug before March 1900; 1904)', () => {
    expect(serialDate(45413, false)).toEqual(utc(2024, 5, 1));
    expect(serialDate(45413.25, false)).toEqual(utc(2024, 5, 1, 6));
    expect(serialDate(1, false)).toEqual(utc(1900, 1, 1));
    expect(serialDate(0.5, false)).toEqual(utc(1899, 12, 30, 12)); // a time alone: the day the library gave it
    expect(serialDate(59, false)).toEqual(utc(1900, 2, 28));
    expect(serialDate(61, false)).toEqual(utc(1900, 3, 1));
    expect(serialDate(0, true)).toEqual(utc(1904, 1, 1));
  });
});

describe('zip archives', () => {
  const read = async (file: string, name: string) => {
    const z = await ZipFile.open(file, file);
    try {
      const chunks: Buffer[] = [];
      for await (const c of z.read(z.entry(name)!)) chunks.push(c);
      return Buffer.concat(chunks).toString('utf8');
    } finally {
      await z.close();
    }
  };
  const big = Array.from({ length: 20_000 }, (_, i) => `<row r="${i}">交换机-${i}</row>`).join('');

  it('reads stored, deflated, data-descriptor and zip64 entries, and a zip64 directory', async () => {
    for (const zip64End of [false, true]) {
      const file = await t.write(`entries-${zip64End}.zip`, zip(
        [
          { name: 'stored.txt', data: 'plain 文本', method: 0 },
          { name: 'deflated.xml', data: big },
          { name: 'descriptor.xml', data: big.slice(0, 5000), descriptor: true },
          { name: 'zip64.xml', data: 'sixty-four', zip64: true },
          { name: 'stored-descriptor.txt', data: 'after', method: 0, descriptor: true },
        ],
        { zip64End },
      ));
      expect(await read(file, 'stored.txt')).toBe('plain 文本');
      expect(await read(file, 'deflated.xml')).toBe(big);
      expect(await read(file, 'descriptor.xml')).toBe(big.slice(0, 5000));
      expect(await read(file, 'zip64.xml')).toBe('sixty-four');
      expect(await read(file, 'stored-descriptor.txt')).toBe('after');
    }
  });

  it('stops an entry that inflates far past its declared size (a zip bomb)', async () => {
    const file = await t.write('bomb.zip', zip([{ name: 'x.xml', data: Buffer.alloc(40 * 2 ** 20, 0x41), declaredSize: 1000 }]));
    await expect(read(file, 'x.xml')).rejects.toThrow(/inflates past its declared 1000 bytes: damaged, or a zip bomb/);
  });

  it('refuses an encrypted entry and an unknown compression method, saying what to do', async () => {
    const sheet = sheetXml('<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>');
    const encrypted = await t.write('enc.xlsx', zip([{ name: 'xl/workbook.xml', data: '<workbook/>', flags: 1 }]));
    const e1 = await usageError(openInput({ file: encrypted }));
    expect(e1.message).toMatch(/is encrypted/);
    expect(e1.hint).toBe('remove the password in Excel (File > Info > Protect Workbook) and save again');
    const bzip = await t.write('bzip.xlsx', workbookZip({ sheets: [{ name: 'S', xml: sheet }] }, { method: 12 }));
    expect((await usageError(openInput({ file: bzip }))).message).toMatch(/not a readable \.xlsx workbook \(its part .* is compressed with method 12/);
  });

  it('refuses a cut-short file and a non-zip as "not a readable .xlsx workbook"', async () => {
    const whole = workbookZip({ sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c r="A1"><v>1</v></c></row>') }] });
    for (const cut of [whole.length - 10, whole.length >> 1, 100]) {
      const file = await t.write(`cut-${cut}.xlsx`, whole.subarray(0, cut));
      const e = await usageError(openInput({ file }));
      expect(e.message).toMatch(/cut-\d+\.xlsx is not a readable \.xlsx workbook \(.*(cut short|no zip directory)/);
    }
  });

  it('refuses a part whose deflated data is damaged, naming the part', async () => {
    const name = 'xl/workbook.xml';
    const bytes = zip([{ name, data: '<workbook><sheets/></workbook>' }]);
    bytes.fill(0xff, 30 + name.length + 8, 30 + name.length + 12); // the data's first bytes: an invalid block type
    const file = await t.write('damaged.xlsx', bytes);
    expect((await usageError(openInput({ file }))).message).toMatch(/damaged\.xlsx is not a readable \.xlsx workbook \(its part xl\/workbook\.xml is damaged: /);
  });

  it('refuses a part whose bytes do not match its checksum, once it is read to its end', async () => {
    const bytes = zip([{ name: 'stored.txt', data: 'plain text', method: 0 }]);
    const at = bytes.indexOf('plain text');
    bytes.write('PLAIN', at); // a flipped byte the stored data cannot show
    const file = await t.write('crc.zip', bytes);
    await expect(read(file, 'stored.txt')).rejects.toThrow(/crc\.zip is not a readable \.xlsx workbook \(its part stored\.txt is damaged: its checksum \(CRC-32\) does not match/);
    const sheet = sheetXml('<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>abc</t></is></c></row>');
    const wb = workbookZip({ sheets: [{ name: 'S', xml: sheet }] }, { method: 0 });
    wb.write('xyz', wb.indexOf('<t>abc</t>') + 3);
    const damaged = await t.write('crc.xlsx', wb);
    expect((await usageError(readAll({ file: damaged }))).message).toMatch(/its part xl\/worksheets\/.* is damaged: its checksum/);
  });

  /** An OLE compound document (MS-CFB) with one directory sector holding these stream names. */
  const ole = (names: string[]) => {
    const b = Buffer.alloc(512 * 3, 0);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(b, 0);
    b.writeUInt16LE(0x3e, 24);
    b.writeUInt16LE(3, 26);
    b.writeUInt16LE(0xfffe, 28);
    b.writeUInt16LE(9, 30); // 512-byte sectors
    b.writeUInt32LE(1, 44); // one FAT sector
    b.writeInt32LE(1, 48); // the directory starts at sector 1
    for (let i = 0; i < 109; i++) b.writeInt32LE(i === 0 ? 0 : -1, 76 + i * 4);
    b.writeInt32LE(-3, 512); // sector 0: the FAT itself
    b.writeInt32LE(-2, 516); // sector 1: the directory, end of chain
    ['Root Entry', ...names].forEach((n, i) => b.write(n, 1024 + i * 128, 'utf16le'));
    return b;
  };

  it('refuses a password-protected workbook and an .xls named .xlsx, each with what to do', async () => {
    const locked = await t.write('locked.xlsx', ole(['EncryptionInfo', 'EncryptedPackage']));
    const e1 = await usageError(openInput({ file: locked }));
    expect([e1.message, e1.hint]).toEqual([`${locked} is a password-protected (encrypted) workbook, which cannot be read`, 'remove the password in Excel (File > Info > Protect Workbook) and save again']);
    // On standard input too, found by the OLE signature.
    const e3 = await usageError(openInput({ file: '-', stdin: Readable.from([ole(['EncryptionInfo', 'EncryptedPackage'])]), tmpDir: t.dir }));
    expect(e3.message).toBe('<stdin> is a password-protected (encrypted) workbook, which cannot be read');
    const old = await t.write('old.xlsx', ole(['Workbook', '\u0005SummaryInformation']));
    const e2 = await usageError(openInput({ file: old }));
    expect(e2.message).toMatch(/old\.xlsx is an old-style Excel file \(\.xls\)/);
    expect(e2.hint).toBe('open it in Excel and save it as "Excel Workbook (*.xlsx)"');
  });
});

describe('hand-written workbooks through openInput', () => {
  const styles =
    '<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/mm/dd\\ hh:mm"/></numFmts>' +
    '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
    '<cellXfs count="3"><xf numFmtId="0" fontId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164"/></cellXfs></styleSheet>';

  it('the first tab is the default sheet, whatever order the parts are stored in', async () => {
    const file = await t.write('tabs.xlsx', workbookZip({
      sheets: [
        { name: 'shown first', part: 'worksheets/sheet2.xml', xml: sheetXml('<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>mine</t></is></c></row>') },
        { name: 'stored first', part: 'worksheets/sheet1.xml', xml: sheetXml('<row r="1"><c r="A1" t="inlineStr"><is><t>other</t></is></c></row>') },
      ],
      sheetsFirst: true,
    }));
    const src = await openInput({ file });
    expect(src.sheet).toEqual({ name: 'shown first', layout: 'plain' });
    await src.close();
    expect((await readAll({ file })).map((r) => ({ ...r.values }))).toEqual([{ name: 'mine' }]);
  });

  it('a hidden tab is not the first tab, but --sheet can name it', async () => {
    const one = (v: string) => sheetXml(`<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>${v}</t></is></c></row>`);
    const file = await t.write('hidden.xlsx', workbookZip({
      sheets: [{ name: 'lists', xml: one('hidden'), state: 'hidden' }, { name: 'macros', xml: one('very'), state: 'veryHidden' }, { name: 'data', xml: one('shown') }],
    }));
    expect((await readAll({ file })).map((r) => r.values.name)).toEqual(['shown']);
    expect((await readAll({ file, sheet: 'lists' })).map((r) => r.values.name)).toEqual(['hidden']);
  });

  it('a --sheet naming no sheet is told before the shared strings are read', async () => {
    const texts = Array.from({ length: 20_000 }, (_, i) => `<si><t>text-${i}-${'x'.repeat(i % 50)}</t></si>`).join('');
    const file = await t.write('many-texts.xlsx', workbookZip(
      { sheets: [{ name: 'S', xml: sheetXml('<row r="1"><c r="A1" t="s"><v>0</v></c></row>') }], sharedStrings: `<sst>${texts}</sst>` },
      { method: 0 }, // stored: the part's size in the file is its size
    ));
    const before = zipReads.bytes;
    const e = await usageError(openInput({ file, sheet: 'T' }));
    expect(e.message).toBe(`${file} has no sheet named "T"`);
    expect(zipReads.bytes - before).toBeLessThan(texts.length / 4);
    // Reading the sheet does read them.
    const after = zipReads.bytes;
    expect((await readAll({ file })).length).toBe(0); // a header row only
    expect(zipReads.bytes - after).toBeGreaterThan(texts.length);
  });

  it('shared strings stored after the sheet, absolute part paths, styles and the 1904 system', async () => {
    const file = await t.write('excel-like.xlsx', workbookZip({
      sheets: [{ name: '数据 & more', xml: sheetXml(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>' +
        '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" s="1"><v>43951</v></c><c r="C2" s="2"><v>43951.75</v></c></row>',
      ) }],
      sharedStrings: '<sst><si><t>name</t></si><si><t>day</t></si><si><t>when</t></si><si><r><t>交换</t></r><r><t>机</t></r></si></sst>',
      styles,
      date1904: true,
      absoluteTargets: true,
      sheetsFirst: true,
    }));
    const recs = await readAll({ file, sheet: '数据 & more' });
    expect(recs.map((r) => [r.row, { ...r.values }])).toEqual([[2, { name: '交换机', day: '2024-05-01', when: '2024-05-01 18:00:00' }]]);
  });
});
