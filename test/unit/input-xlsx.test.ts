import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Workbook } from '@cj-tech-master/excelts';
import { openInput } from '../../src/input/index.js';
import { cellText, CellProblem } from '../../src/input/xlsx-cells.js';
import { cmdbCellText } from '../../src/input/xlsx-cmdb.js';
import { columnLetter } from '../../src/input/xlsx.js';
import { zipReads } from '../../src/input/zip.js';
import { BK_SWITCH_TEMPLATE, writeCmdbWorkbook, writePlainWorkbook } from '../support/workbooks.js';
import { readAll, tempDir, usageError } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

const plain = (r: { values: Record<string, unknown> }) => ({ ...r.values });

/** What is left in `dir` once the removals under way have had their time (up to 10 s on a busy machine). */
async function emptied(dir: string): Promise<string[]> {
  for (let waited = 0; waited < 10_000 && readdirSync(dir).length > 0; waited += 100) await new Promise((r) => setTimeout(r, 100));
  return readdirSync(dir);
}

describe('xlsx cells', () => {
  it('writes numbers as Excel shows them, booleans and dates as text', () => {
    expect(cellText(48)).toBe('48');
    expect(cellText(0.30000000000000004)).toBe('0.3');
    expect(cellText(-2.5)).toBe('-2.5');
    expect(cellText(true)).toBe('true');
    expect(cellText(false)).toBe('false');
    expect(cellText(new Date(Date.UTC(2024, 4, 1)))).toBe('2024-05-01');
    expect(cellText(new Date(Date.UTC(2024, 4, 1, 13, 5, 9)))).toBe('2024-05-01 13:05:09');
    expect(cellText({ richText: [{ text: 'ab' }, { text: 'cd' }] })).toBe('abcd');
    expect(cellText({ formula: 'B2*2', result: 96 })).toBe('96');
    expect(cellText({ text: 'site', hyperlink: 'http://x' })).toBe('site');
    expect(cellText(null)).toBe('');
  });

  it('refuses long ids Excel rounded, error cells and formulas without a value, saying why', () => {
    const big = cellText(1798680000000000);
    expect(big).toBeInstanceOf(CellProblem);
    expect((big as CellProblem).message).toMatch(/16 digits, but Excel keeps only 15.*1\.79868E\+15.*format the column as Text/);
    expect(cellText(999999999999999)).toBe('999999999999999'); // 15 digits: exact
    expect((cellText('1.79868E+15') as CellProblem).message).toMatch(/rounded and wrote in scientific notation/);
    expect((cellText({ error: '#N/A' }) as CellProblem).message).toMatch(/Excel error #N\/A/);
    expect((cellText({ formula: 'A1' }) as CellProblem).message).toMatch(/formula without a saved value/);
    expect((cellText({ formula: 'A1', result: { error: '#REF!' } }) as CellProblem).message).toMatch(/#REF!/);
  });

  it('reads CMDB cells as CMDB\'s importer does', () => {
    expect(cmdbCellText("'=SUM(A1)", 'longchar')).toBe('=SUM(A1)');
    expect(cmdbCellText("'+86 10", 'singlechar')).toBe('+86 10');
    expect(cmdbCellText("it's", 'singlechar')).toBe("it's");
    expect(cmdbCellText('admin(管理员),zhang_san(张三)', 'objuser')).toBe('admin,zhang_san');
    expect(cmdbCellText('核心\n接入', 'enummulti')).toBe('["核心","接入"]');
    expect(cmdbCellText('核心', 'enummulti')).toBe('核心');
    expect(cmdbCellText('[1]公司,[22]部门', 'organization')).toBe('1,22');
    expect(cmdbCellText('a(b)', 'singlechar')).toBe('a(b)');
  });

  it('names columns like Excel', () => {
    expect([1, 2, 26, 27, 52, 703].map(columnLetter)).toEqual(['A', 'B', 'Z', 'AA', 'AZ', 'AAA']);
  });
});

describe('xlsx input: CMDB layout', () => {
  // The simulator's bk_switch template without its unique asset column.
  const columns = BK_SWITCH_TEMPLATE.filter((c) => c[2] !== 'bk_asset_id');

  it('maps by the field ids of row 3, reads from row 7, rows are sheet rows, picks the sheet named after --obj', async () => {
    const file = t.dir + '/export.xlsx';
    await writeCmdbWorkbook(file, {
      sheet: 'bk_switch',
      otherSheets: ['枚举字段名映射'],
      dataLabel: true,
      columns,
      rows: [
        ['sw-1', 'admin(管理员),zhangsan(张三)', 48, true, '华为', new Date(Date.UTC(2024, 4, 1)), "'=SUM(A1)", '核心\n接入'],
        ['sw-2', 'lisi(李四)', 24, false, 'Cisco', new Date(Date.UTC(2024, 4, 2)), 'plain', '实验'],
      ],
      numFmt: { 6: 'yyyy-mm-dd' },
    });
    const src = await openInput({ file, obj: 'bk_switch' });
    expect(src.format).toBe('xlsx');
    expect(src.sheet).toEqual({ name: 'bk_switch', layout: 'cmdb' });
    expect(src.columns).toEqual(columns.map((c) => c[2]));
    expect(src.firstRow).toBe(7);
    await src.close();
    const recs = await readAll({ file, obj: 'bk_switch' });
    expect(recs.map((r) => [r.row, r.error])).toEqual([[7, undefined], [8, undefined]]);
    expect(plain(recs[0]!)).toEqual({
      bk_inst_name: 'sw-1', bk_operator: 'admin,zhangsan', port_count: '48', is_managed: 'true', vendor: '华为',
      bought_on: '2024-05-01', remark: '=SUM(A1)', tags: '["核心","接入"]',
    });
    expect(plain(recs[1]!)).toMatchObject({ bk_operator: 'lisi', is_managed: 'false', tags: '实验', bought_on: '2024-05-02' });
  });

  it('reads an export: bk_inst_id in column B; an Excel-rounded id is refused with its cell', async () => {
    const file = t.dir + '/ids.xlsx';
    await writeCmdbWorkbook(file, {
      sheet: 'bk_switch',
      columns: [['实例ID', '数字', 'bk_inst_id'], ['实例名(必填)', '短字符', 'bk_inst_name'], ['设备SN', '短字符', 'bk_sn']],
      rows: [[1001, 'sw-1', 'SN1'], [1002, 'sw-2', 1798680000000000]],
    });
    const recs = await readAll({ file });
    expect(plain(recs[0]!)).toEqual({ bk_inst_id: '1001', bk_inst_name: 'sw-1', bk_sn: 'SN1' });
    expect(recs[1]!.row).toBe(8);
    expect(recs[1]!.error).toMatch(/^bk_sn \(cell D8\): the number 1798680000000000 has 16 digits/);
  });

  it('an empty row between data rows is a row with a reason; empty rows at the end are not rows', async () => {
    const file = t.dir + '/gap.xlsx';
    await writeCmdbWorkbook(file, { sheet: 'bk_switch', columns: columns.slice(0, 1), rows: [['a'], [null], ['b'], [null], [null]] });
    const recs = await readAll({ file });
    expect(recs.map((r) => [r.row, r.values.bk_inst_name, r.error])).toEqual([
      [7, 'a', undefined],
      [8, '', 'row 8 is empty: delete the empty row in Excel, or use --skip-invalid to leave it out'],
      [9, 'b', undefined],
    ]);
  });

  it('a template (header rows only) has no rows', async () => {
    const file = t.dir + '/template.xlsx';
    await writeCmdbWorkbook(file, { sheet: 'bk_switch', columns, rows: [], dataLabel: false });
    expect(await readAll({ file })).toEqual([]);
  });
});

describe('xlsx input: plain sheets', () => {
  it('takes the first non-empty row as the header, with type hints; cells keep their types as text', async () => {
    const file = t.dir + '/plain.xlsx';
    await writePlainWorkbook(file, 'Sheet1', ['bk_inst_name', 'port_count:int', 'when', 'ok'], [['a', 7, new Date(Date.UTC(2023, 0, 2)), true], [], ['b', 8.5, null, false]], {
      headerRow: 2,
      numFmt: { 3: 'yyyy-mm-dd' },
    });
    const src = await openInput({ file, obj: 'bk_switch' }); // no such sheet: the first one
    expect(src.sheet).toEqual({ name: 'Sheet1', layout: 'plain' });
    expect(src.columns).toEqual(['bk_inst_name', 'port_count', 'when', 'ok']);
    expect(src.hints).toEqual({ port_count: 'int' });
    await src.close();
    const recs = await readAll({ file });
    expect(recs.map((r) => [r.row, r.error ?? plain(r)])).toEqual([
      [3, { bk_inst_name: 'a', port_count: '7', when: '2023-01-02', ok: 'true' }],
      [4, 'row 4 is empty: delete the empty row in Excel, or use --skip-invalid to leave it out'],
      [5, { bk_inst_name: 'b', port_count: '8.5', when: '', ok: 'false' }],
    ]);
  });

  it('--sheet picks a sheet; a missing one is named with the sheets there are', async () => {
    const file = t.dir + '/sheets.xlsx';
    await writePlainWorkbook(file, 'data', ['x'], [['1']], { otherSheets: ['readme'] });
    expect((await readAll({ file, sheet: 'data' })).map(plain)).toEqual([{ x: '1' }]);
    const e = await usageError(openInput({ file, sheet: 'Data2' }));
    expect(e.message).toBe(`${file} has no sheet named "Data2"`);
    expect(e.hint).toBe('its sheets: "readme", "data"; pick one with --sheet <name>');
  });

  it('refuses duplicate and unnamed header columns, and cells outside the header', async () => {
    const dup = t.dir + '/dup.xlsx';
    await writePlainWorkbook(dup, 'S', ['a', 'b', 'a'], [['1', '2', '3']]);
    expect((await usageError(openInput({ file: dup }))).message).toMatch(/sheet "S" line 1: duplicate column names: a \(columns 1 and 3\)/);
    const wide = t.dir + '/wide.xlsx';
    await writePlainWorkbook(wide, 'S', ['a'], [['1', 'stray']]);
    const recs = await readAll({ file: wide });
    expect(recs[0]!.error).toBe('cell B2 is outside the header (column B has no name)');
  });

  it('reads standard input with --format xlsx, and without it by the zip signature', async () => {
    const file = t.dir + '/stdin.xlsx';
    await writePlainWorkbook(file, 'S', ['a'], [['1']]);
    const bytes = await readFile(file);
    for (const format of ['xlsx' as const, undefined]) {
      const recs = await readAll({ file: '-', format, stdin: Readable.from([bytes]), tmpDir: t.dir });
      expect(recs.map(plain)).toEqual([{ a: '1' }]);
    }
  });

  it('says what is wrong with a workbook named .csv, an .xls, and a damaged .xlsx', async () => {
    const file = t.dir + '/wb.xlsx';
    await writePlainWorkbook(file, 'S', ['a'], [['1']]);
    const misnamed = await t.write('really.csv', await readFile(file));
    const e1 = await usageError(openInput({ file: misnamed }));
    expect([e1.message, e1.hint]).toEqual([`${misnamed} is an Excel workbook (.xlsx), not csv`, 'name it .xlsx or pass --format xlsx']);
    const xls = await t.write('old.xls', 'whatever');
    expect((await usageError(openInput({ file: xls }))).hint).toBe('open it in Excel and save it as "Excel Workbook (*.xlsx)"');
    const broken = await t.write('broken.xlsx', 'not a zip at all');
    expect((await usageError(openInput({ file: broken }))).message).toMatch(/broken\.xlsx is not a readable \.xlsx workbook/);
  });

  it('an Excel-saved sheet (shared strings after the sheet) reads the same', async () => {
    const file = t.dir + '/shared.xlsx';
    const wb = new Workbook();
    const ws = wb.addWorksheet('S');
    ws.addRow(['name', 'vendor']);
    for (let i = 0; i < 1500; i++) ws.addRow([`sw-${i}`, i % 2 ? '华为' : 'Cisco']);
    await wb.xlsx.writeFile(file);
    const recs = await readAll({ file });
    expect(recs).toHaveLength(1500);
    expect(recs[1499]).toMatchObject({ row: 1501, values: { name: 'sw-1499', vendor: '华为' } });
  });
});

describe('xlsx input: text across the reader\'s chunks', () => {
  it('keeps every Chinese character whole, whatever the chunk boundaries (exceljs issues #2063, #2316)', async () => {
    const file = t.dir + '/chinese.xlsx';
    const { WorkbookWriter } = await import('@cj-tech-master/excelts');
    // Inline strings (as a streaming export writes them): the sheet's text is cut wherever the inflater's chunks end.
    const wb = new WorkbookWriter({ filename: file, useSharedStrings: false });
    const ws = wb.addWorksheet('S');
    ws.addRow(['name', 'vendor']).commit();
    for (let i = 0; i < 3000; i++) ws.addRow([`交换机-${i}`, ['华为', '华三', '思科'][i % 3]]).commit();
    await ws.commit();
    await wb.commit();
    const recs = await readAll({ file });
    expect(recs).toHaveLength(3000);
    const broken = recs.filter((r) => Object.values(r.values).some((v) => String(v).includes('\ufffd')));
    expect(broken.map((r) => r.row)).toEqual([]);
    expect(recs[2999]!.values).toEqual(Object.assign(Object.create(null), { name: '交换机-2999', vendor: '思科' }));
  });

  it('the same for shared strings (as Excel saves them) and a Chinese sheet name', async () => {
    const file = t.dir + '/chinese-shared.xlsx';
    const wb = new Workbook();
    const ws = wb.addWorksheet('交换机清单');
    ws.addRow(['名称', '备注']);
    for (let i = 0; i < 3000; i++) ws.addRow([`交换机-${i}`, `机房${i % 7}号柜，第${i}台`]);
    await wb.xlsx.writeFile(file);
    const recs = await readAll({ file, sheet: '交换机清单' });
    expect(recs).toHaveLength(3000);
    expect(recs.filter((r) => Object.values(r.values).some((v) => String(v).includes('\ufffd'))).map((r) => r.row)).toEqual([]);
    expect({ ...recs[2999]!.values }).toEqual({ 名称: '交换机-2999', 备注: '机房3号柜，第2999台' });
  });
});

describe('xlsx input: temp copies', () => {
  it('leaves no temp files behind, even when reading stops early', async () => {
    // The shared strings of an Excel-saved workbook are spooled to $TMPDIR/cmdb-bulk-strings-* (no sheet is copied:
    // the zip's directory lets the strings be read first).
    const dir = await mkdtemp(join(tmpdir(), 'xlsx-tmp-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const file = t.dir + '/three.xlsx';
      const wb = new Workbook();
      for (const name of ['a', 'b', 'c']) {
        const ws = wb.addWorksheet(name);
        ws.addRow(['name']);
        for (let i = 0; i < 2000; i++) ws.addRow([`${name}-${i}`]);
      }
      await wb.xlsx.writeFile(file);
      const src = await openInput({ file, sheet: 'b' });
      for await (const batch of src.batches()) {
        expect(batch[0]!.values.name).toBe('b-0');
        break; // stop early, as Ctrl-C or an error does
      }
      await src.close();
      const never = await openInput({ file, sheet: 'a' }); // opened, never read
      await never.close();
      expect(await emptied(dir)).toEqual([]); // removed on the next turns of the event loop

    } finally {
      if (before === undefined) delete process.env.TMPDIR; // assigning undefined would set the text "undefined"
      else process.env.TMPDIR = before;
      await rm(dir, { recursive: true, force: true });
    }
  });
});


describe('xlsx input: the shared-strings table is spooled to a temp file', () => {
  it('gives back every text, across blocks, with the cache evicting (small blocks to exercise it)', async () => {
    const { SpooledStrings } = await import('../../src/input/xlsx-strings.js');
    const s = new SpooledStrings({ block: 64, cachedBlocks: 3, writeBuffer: 100 });
    try {
      const texts: string[] = [];
      for (let i = 0; i < 2000; i++) texts.push(i % 97 === 0 ? `长文本-${i}-${'机'.repeat(i % 300)}` : i % 5 === 0 ? '' : `交换机-${i}`);
      for (const x of texts) s.add(x);
      expect(s.size).toBe(2000);
      // In order, backwards and at random: what a sheet's cells ask for.
      expect(texts.map((_, i) => s.get(i))).toEqual(texts);
      for (let i = texts.length - 1; i >= 0; i -= 7) expect(s.get(i)).toBe(texts[i]);
      expect(s.get(1234)).toBe(texts[1234]);
      expect(s.get(2000)).toBeUndefined();
      expect(s.get(-1)).toBeUndefined();
    } finally {
      s.close();
      await rm(s.dir, { recursive: true, force: true });
    }
  });

  it('an Excel-saved sheet with many distinct texts reads correctly and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xlsx-sst-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const file = t.dir + '/distinct.xlsx';
      const n = 8_000; // 3 distinct texts a row (24,000, ~0.6 MB: 9 of the 64 KB blocks)
      await writePlainWorkbook(file, 'bk_switch', ['bk_inst_name', 'bk_asset_id', 'remark', 'kind'],
        Array.from({ length: n }, (_, i) => [`交换机-${i}`, `SW-${String(i).padStart(6, '0')}`, `机房${i}号柜，第${i}台`, i % 2 ? '核心' : '接入']));
      const src = await openInput({ file });
      const recs: Array<{ row: number; values: Record<string, unknown> }> = [];
      for await (const batch of src.batches()) {
        // While the sheet is read, its texts are in the temp file, not in an array.
        if (recs.length === 0) expect(readdirSync(dir).filter((d) => d.startsWith('cmdb-bulk-strings-'))).toHaveLength(1);
        recs.push(...batch);
      }
      await src.close();
      expect(recs).toHaveLength(n);
      expect(recs[0]!.row).toBe(2);
      for (const i of [0, 1, 4095, 6_789, n - 1]) {
        expect({ ...recs[i]!.values }).toEqual({ bk_inst_name: `交换机-${i}`, bk_asset_id: `SW-${String(i).padStart(6, '0')}`, remark: `机房${i}号柜，第${i}台`, kind: i % 2 ? '核心' : '接入' });
      }
      expect(recs.every((r, i) => r.values.remark === `机房${i}号柜，第${i}台`)).toBe(true);
      expect(await emptied(dir)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR; // assigning undefined would set the text "undefined"
      else process.env.TMPDIR = before;
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('xlsx input: rows are pulled, the reader never runs ahead of them', () => {
  it('after one batch is taken and time passes, the sheet is read only a chunk or two further', async () => {
    // Sheet before shared strings (as Excel and a streaming writer save it); texts that do not compress much, so the
    // sheet's part is megabytes in the file too.
    const file = t.dir + '/pulled.xlsx';
    const { WorkbookWriter } = await import('@cj-tech-master/excelts');
    const wb = new WorkbookWriter({ filename: file, useSharedStrings: false });
    const ws = wb.addWorksheet('S');
    ws.addRow(['bk_inst_name', 'bk_asset_id', 'remark']).commit();
    const noise = (i: number) => createHash('sha256').update(String(i)).digest('base64');
    for (let i = 0; i < 30_000; i++) ws.addRow([`交换机-${i}`, noise(i), noise(-i)]).commit();
    await ws.commit();
    await wb.commit();
    const size = statSync(file).size;
    expect(size).toBeGreaterThan(2_000_000);

    const before = zipReads.bytes;
    const src = await openInput({ file });
    const batches = src.batches()[Symbol.asyncIterator]();
    try {
      expect((await batches.next()).value).toHaveLength(512);
      // Time for a reader that pushed rows without waiting to read on (it would be through megabytes by then).
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 10));
      const read = zipReads.bytes - before;
      // Opening read the directory, the workbook's small parts and the sheet's first chunk; 512 rows are ~60 KB of
      // the file, read 64 KB at a time: a chunk parsed and one or two waiting in the inflater.
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThan(512 * 1024);
      // Taking more rows reads further: the position follows the rows taken.
      for (let n = 0; n < 20; n++) await batches.next();
      expect(zipReads.bytes - before).toBeGreaterThan(read + 512 * 1024);
    } finally {
      await batches.return?.(undefined);
      await src.close();
    }
  }, 120_000);
});
