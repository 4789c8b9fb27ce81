import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type { ReportFormat, RowOutcome } from '../../src/core/types.js';
import { ReportWriter, REPORT_COLUMNS, claimPath, defaultReportPath, latestReportLink, planPath, pointLink, reportHeader } from '../../src/report/writer.js';
import { fingerprintText } from '../../src/report/fingerprint.js';
import { readPriorReport } from '../../src/report/prior.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-writer-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function vals(o: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(null), o);
}

const outcome = (row: number, extra: Partial<RowOutcome> = {}): RowOutcome => ({
  row,
  status: 'ok',
  id: 1000 + row,
  values: vals({ name: `sw-${row}` }),
  ...extra,
});

/** Rows of a finished report as objects, whatever the format. */
function readReport(file: string, format: ReportFormat): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  if (format === 'csv') return parse(text, { columns: true }) as Record<string, unknown>[];
  if (format === 'json') return JSON.parse(text) as Record<string, unknown>[];
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('ReportWriter', () => {
  for (const format of ['csv', 'json', 'ndjson'] as const) {
    it(`writes out-of-order outcomes in row order (${format})`, async () => {
      const file = path.join(dir, `r.${format}`);
      const w = await ReportWriter.open({ path: file, format, inputColumns: ['name'] });
      w.add([outcome(4), outcome(3, { status: 'failed', id: undefined, error_code: 1199014, error: 'dup' })]);
      expect(w.buffered).toBe(2);
      expect(w.written).toBe(0);
      w.add([outcome(2, { status: 'invalid', id: undefined, error: 'port_count: not an int' })]);
      expect(w.buffered).toBe(3);
      w.add([outcome(1)]);
      expect(w.buffered).toBe(0);
      expect(w.written).toBe(4);
      w.add([outcome(6), outcome(5, { status: 'unsent', id: undefined })]);
      expect(w.written).toBe(6);
      await w.finish();

      const rows = readReport(file, format);
      expect(rows.map((r) => Number(r.row))).toEqual([1, 2, 3, 4, 5, 6]);
      expect(rows.map((r) => r.status)).toEqual(['ok', 'invalid', 'failed', 'ok', 'unsent', 'ok']);
      if (format === 'csv') {
        expect(Object.keys(rows[0]!)).toEqual([...REPORT_COLUMNS, 'name']);
        expect(rows[2]).toMatchObject({ error_code: '1199014', error: 'dup', name: 'sw-3' });
        expect(rows[0]).toMatchObject({ id: '1001', error: '' });
      } else {
        expect(rows[0]).toEqual({ row: 1, status: 'ok', id: 1001, fingerprint: fingerprintText({ name: 'sw-1' }), input: { name: 'sw-1' } });
        expect(rows[2]).toEqual({ row: 3, status: 'failed', error_code: 1199014, error: 'dup', fingerprint: fingerprintText({ name: 'sw-3' }), input: { name: 'sw-3' } });
      }
    });
  }

  // A row next in line is written as bytes, piece by piece (putHead); a row that waits is rendered into a string
  // (outcomeHead). Both must give the same bytes for every kind of outcome.
  const varied = (): RowOutcome[] => [
    outcome(1),
    outcome(2, { status: 'failed', id: undefined, error_code: 1199014, error: 'dup "A1" \\ é\n2nd line', detail: 'the server: …' }),
    outcome(3, { status: 'unsent', id: undefined, detail: 'dry run' }),
    outcome(4, { status: 'unsent', id: undefined, detail: 'dry run' }),
    outcome(5, { status: 'unsent', id: undefined, detail: 'dry run' }),
    outcome(6, { status: 'ok', id: 'i-6', action: 'update', before: { port_count: 24, tags: ['a'] }, detail: '交换机 😀' }),
    outcome(7, { status: 'invalid', id: undefined, error: 'port_count: not an int', values: vals({ name: 'x', n: 1.5, t: true, z: null, o: { a: [1, '"'] }, u: undefined }) }),
    outcome(8, { status: 'unchanged', error_code: 'e', values: undefined }),
    outcome(9, { status: 'failed', id: null as unknown as undefined, error_code: null as unknown as undefined, error: null as unknown as undefined, detail: null as unknown as undefined }),
    // Rows with only a status and a detail: one stored middle per status, made again when the detail changes.
    outcome(10, { status: 'unsent', id: undefined, detail: 'not sent: stopped' }),
    outcome(11, { status: 'unsent', id: undefined }),
    outcome(12, { status: 'invalid', id: undefined, detail: '' }),
    outcome(13, { status: 'unsent', id: undefined, detail: 'dry run' }),
    // Input cells a CSV line quotes or neutralises, a number, an absent one, and a detail that needs quoting.
    outcome(14, { status: 'unsent', id: undefined, detail: 'dry run', values: vals({ name: '=HYPERLINK("x")', n: 'a,b' }) }),
    outcome(15, { status: 'unsent', id: undefined, detail: 'dry run', values: vals({ name: '交换机 "1"\n2', n: 24 }) }),
    outcome(16, { status: 'unsent', id: undefined, detail: 'a, "b"', values: vals({ n: -5 }) }),
    outcome(123456789012, { detail: 'dry run' }),
  ];
  for (const [format, target] of [['csv', 'bk_switch'], ['json', 'bk_switch'], ['ndjson', 'bk_switch'], ['ndjson', undefined]] as const) {
    it(`writes a row next in line with the same bytes as a row that waited for an earlier one (${format}, target ${target})`, async () => {
      const inOrder = path.join(dir, `in-order-${target}.${format}`);
      const w1 = await ReportWriter.open({ path: inOrder, format, inputColumns: ['name', 'n'], target, firstRow: 1 });
      const rows = varied();
      rows[rows.length - 1]!.row = 18;
      rows.splice(16, 0, outcome(17, { detail: 'dry run' }));
      w1.add(rows, true);
      await w1.finish();
      const held = path.join(dir, `held-${target}.${format}`);
      const w2 = await ReportWriter.open({ path: held, format, inputColumns: ['name', 'n'], target, firstRow: 1 });
      for (let i = rows.length - 1; i >= 0; i--) w2.add([rows[i]!]); // every row but the first waits
      await w2.finish();
      expect(fs.readFileSync(inOrder, 'utf8')).toBe(fs.readFileSync(held, 'utf8'));
      expect(readReport(inOrder, format)).toHaveLength(rows.length);
    });
  }

  it('writes a row whose input text is kept (valuesJson) with the same bytes as re-serialising it, when the text is plain JSON', async () => {
    const values = vals({ bk_inst_name: 'switch-1', port_count: 2, is_managed: true, tags: ['a', 'é'], o: { x: null } });
    const text = JSON.stringify(values);
    for (const format of ['json', 'ndjson'] as const) {
      const files = await Promise.all(
        [undefined, text].map(async (valuesJson, i) => {
          const file = path.join(dir, `kept-${i}.${format}`);
          const w = await ReportWriter.open({ path: file, format, inputColumns: [], target: 'bk_switch' });
          w.add([outcome(1, { status: 'unsent', id: undefined, detail: 'dry run', values, valuesJson }), outcome(2, { values, valuesJson })], true);
          await w.finish();
          return fs.readFileSync(file, 'utf8');
        }),
      );
      expect(files[1]).toBe(files[0]);
    }
  });

  it("writes a CSV row whose input cells are kept (valuesCsv) with the same bytes as encoding each cell", async () => {
    const values = vals({ bk_inst_name: 'switch-1', port_count: '2', remark: '交换机', empty: '' });
    const text = 'switch-1,2,交换机,';
    const files = await Promise.all(
      [undefined, text].map(async (valuesCsv, i) => {
        const file = path.join(dir, `kept-${i}.csv`);
        const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: Object.keys(values), target: 'bk_switch' });
        w.add([outcome(1, { status: 'unsent', id: undefined, detail: 'dry run', values, valuesCsv }), outcome(2, { values, valuesCsv })], true);
        await w.finish();
        return fs.readFileSync(file, 'utf8');
      }),
    );
    expect(files[1]).toBe(files[0]);
    expect(files[1]).toContain(',switch-1,2,交换机,\n');
  });

  it('writes a piece larger than its buffer, and multi-byte text across buffer ends, whole', async () => {
    const file = path.join(dir, 'big.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    const big = vals({ name: '交'.repeat(300_000) });
    const rows = Array.from({ length: 3000 }, (_, i) => outcome(i + 1, { values: vals({ name: `€😀-${i}`.repeat(i % 7) }) }));
    rows[1500] = outcome(1501, { values: big });
    w.add(rows, true);
    await w.finish();
    const back = readReport(file, 'ndjson');
    expect(back.map((r) => (r.input as { name: string }).name)).toEqual(rows.map((o) => o.values!.name));
    expect(back.map((r) => r.fingerprint)).toEqual(rows.map((o) => fingerprintText(o.values)));
  });

  it('puts every added row on disk at once: in the report when in order, else in the journal; finish removes the journal', async () => {
    const file = path.join(dir, 'r.csv');
    const journal = `${file}.journal`;
    // The journal's order is not a contract (readPriorReport takes rows by number): compare sorted.
    const journalRows = () =>
      fs.readFileSync(journal, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).sort((a, b) => a.row - b.row);
    const reportRows = () => (parse(fs.readFileSync(file, 'utf8'), { columns: true }) as { row: string }[]).map((r) => Number(r.row));
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: ['name'] });
    w.add([outcome(3), outcome(2, { status: 'failed', id: undefined, error: 'boom' })]);
    // Read while the writer is open: both held rows are already on disk, in the journal.
    expect(journalRows()).toEqual([
      { row: 2, status: 'failed', error: 'boom', fingerprint: fingerprintText({ name: 'sw-2' }) },
      { row: 3, status: 'ok', id: 1003, fingerprint: fingerprintText({ name: 'sw-3' }) },
    ]);
    expect(reportRows()).toEqual([]);
    w.add([outcome(1), outcome(5)]);
    expect(reportRows()).toEqual([1, 2, 3]);
    expect(journalRows().map((r) => r.row)).toEqual([2, 3, 5]);
    w.add([outcome(4), outcome(6)]);
    expect(reportRows()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(journalRows()).toHaveLength(3); // rows that went straight to the report are not journaled too
    await w.finish();
    expect(fs.existsSync(journal)).toBe(false);
  });

  it('keeps whole early batches and releases them when the gap fills, in any mix', async () => {
    const file = path.join(dir, 'r.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    const batch = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => outcome(from + i));
    w.add(batch(401, 600));
    w.add(batch(201, 300));
    w.add([...batch(310, 400), ...batch(301, 305)]);
    expect(w.buffered).toBe(200 + 100 + 91 + 5);
    expect(w.written).toBe(0);
    w.add(batch(1, 200)); // releases 1..305, rows 306..309 still missing
    expect(w.written).toBe(305);
    expect(w.buffered).toBe(91 + 200);
    expect(() => w.add([outcome(350)])).toThrow(/row 350 added twice/);
    w.add([outcome(309), outcome(306), outcome(308), outcome(307)]);
    expect(w.written).toBe(600);
    expect(w.buffered).toBe(0);
    await w.finish();
    expect(readReport(file, 'ndjson').map((r) => r.row)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });

  it('lazy adds are gathered (written with the next durable add, at 64 KB, or at finish) and never journaled', async () => {
    const file = path.join(dir, 'r.ndjson');
    const lines = () => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).row);
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    w.add([outcome(1, { status: 'invalid', error: 'x' })], true);
    w.add([outcome(3, { status: 'unsent' })], true); // held, waiting for row 2
    expect(lines()).toEqual([]);
    expect(fs.readFileSync(`${file}.journal`, 'utf8')).toBe('');
    w.add([outcome(2)]); // durable: writes the gathered row 1, then 2, then the released 3
    expect(lines()).toEqual([1, 2, 3]);
    for (let r = 4; r < 2004; r++) w.add([outcome(r, { status: 'invalid', error: 'e'.repeat(40) })], true);
    expect(lines().length).toBeGreaterThan(3); // 64 KB reached: written without waiting for a durable add
    expect(lines().length).toBeLessThan(2003);
    await w.finish();
    expect(lines()).toEqual(Array.from({ length: 2003 }, (_, i) => i + 1));
  });

  it('close() writes gathered lazy rows too', async () => {
    const file = path.join(dir, 'r.csv');
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: [] });
    w.add([outcome(1, { status: 'unsent' })], true);
    await w.close();
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('journals nothing while rows come in order', async () => {
    const file = path.join(dir, 'r.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    w.add([outcome(1), outcome(2)]);
    w.add([outcome(3)]);
    expect(fs.readFileSync(`${file}.journal`, 'utf8')).toBe('');
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
    await w.finish();
  });

  it('writes no journal for stdout and writes the report to the given stream', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const w = await ReportWriter.open({ path: '-', format: 'ndjson', inputColumns: [], stdout: out });
    w.add([outcome(2), outcome(1)]);
    await w.finish();
    expect(text.trim().split('\n').map((l) => JSON.parse(l).row)).toEqual([1, 2]);
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.existsSync('-.journal')).toBe(false);
  });

  it('finish throws naming the first missing row and keeps the journal', async () => {
    const file = path.join(dir, 'r.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    w.add([outcome(1), outcome(2), outcome(4), outcome(5)]);
    await expect(w.finish()).rejects.toThrow(/row 3 /);
    expect(fs.existsSync(`${file}.journal`)).toBe(true);
  });

  it('finish with the expected row count catches missing trailing rows', async () => {
    const file = path.join(dir, 'r.csv');
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: [] });
    w.add([outcome(1), outcome(2)]);
    await expect(w.finish(3)).rejects.toThrow(/row 3 /);

    const w2 = await ReportWriter.open({ path: file, format: 'csv', inputColumns: [] });
    w2.add([outcome(1), outcome(2), outcome(3)]);
    await expect(w2.finish(3)).resolves.toBeUndefined();
  });

  it('rejects a row added twice without writing anything of that add', async () => {
    const file = path.join(dir, 'r.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: [] });
    w.add([outcome(1), outcome(3)]);
    expect(() => w.add([outcome(2), outcome(1)])).toThrow(/row 1 added twice/);
    expect(() => w.add([outcome(3)])).toThrow(/row 3 added twice/);
    expect(() => w.add([outcome(2), outcome(2)])).toThrow(/row 2 added twice/);
    expect(w.written).toBe(1);
    expect(fs.readFileSync(`${file}.journal`, 'utf8').trim().split('\n')).toHaveLength(1); // row 3 only
    w.add([outcome(2)]);
    await w.finish();
    expect(readReport(file, 'ndjson').map((r) => r.row)).toEqual([1, 2, 3]);
  });

  it('neutralises formulas in CSV cells but leaves plain numbers alone', async () => {
    const file = path.join(dir, 'r.csv');
    const cols = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: cols });
    w.add([
      {
        row: 1,
        status: 'failed',
        error: '=HYPERLINK("http://evil")',
        values: vals({ a: '=1+1', b: '+cmd', c: '-5', d: '-1.5', e: '@SUM(A1)', f: '\tx', g: '-x', h: { k: 'v,w' } }),
      },
    ]);
    await w.finish();
    const [rec] = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rec).toMatchObject({
      row: '1',
      error: `'=HYPERLINK("http://evil")`,
      a: `'=1+1`,
      b: `'+cmd`,
      c: '-5',
      d: '-1.5',
      e: `'@SUM(A1)`,
      f: `'\tx`,
      g: `'-x`,
      h: '{"k":"v,w"}',
    });
  });

  it('quotes cells per RFC 4180 so they parse back exactly', async () => {
    const file = path.join(dir, 'r.csv');
    const tricky = 'a, "quoted"\nsecond line\r\nthird';
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: ['note'] });
    w.add([{ row: 1, status: 'failed', error: tricky, detail: 'x,y', values: vals({ note: tricky }) }]);
    await w.finish();
    const [rec] = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rec).toMatchObject({ error: tricky, detail: 'x,y', note: tricky });
    expect(fs.readFileSync(file, 'utf8').charCodeAt(0)).not.toBe(0xfeff); // no BOM
  });

  it.each(['csv', 'json', 'ndjson'] as const)('records the run\'s target on every %s row, and --resume still reads the report', async (format) => {
    const file = path.join(dir, `t.report.${format}`);
    const w = await ReportWriter.open({ path: file, format, inputColumns: ['name', 'target'], target: 'bk_switch' });
    w.add([outcome(2, { values: vals({ name: 'sw-2', target: 'edge' }) }), outcome(1, { status: 'failed', id: undefined, values: vals({ name: 'sw-1', target: 'core' }) })]);
    await w.finish();
    const rows = readReport(file, format);
    expect(rows.map((r) => r.target)).toEqual(['bk_switch', 'bk_switch']);
    // An input column of that name keeps its value, under input.target (CSV) or in `input`.
    if (format === 'csv') expect(rows.map((r) => r['input.target'])).toEqual(['core', 'edge']);
    else expect(rows.map((r) => (r.input as Record<string, unknown>).target)).toEqual(['core', 'edge']);
    const prior = await readPriorReport(file);
    expect(prior.counts).toMatchObject({ ok: 1, failed: 1 });
    expect(prior.outcome(2)).toMatchObject({ row: 2, status: 'ok', id: 1002 });
  });

  it('leaves the target empty when the run records none', async () => {
    const file = path.join(dir, 'n.report.ndjson');
    const w = await ReportWriter.open({ path: file, format: 'ndjson', inputColumns: ['name'] });
    w.add([outcome(1)]);
    await w.finish();
    expect(readReport(file, 'ndjson')[0]).not.toHaveProperty('target');
  });

  it('prefixes input columns that clash with report columns', async () => {
    expect(reportHeader(['row', 'status', 'name', 'input.row'])).toEqual([
      ...REPORT_COLUMNS,
      'input.row',
      'input.status',
      'name',
      'input.input.row',
    ]);
    const file = path.join(dir, 'r.csv');
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: ['id', 'error'] });
    w.add([{ row: 1, status: 'ok', id: 7, values: vals({ id: 'src-id', error: 'src-error' }) }]);
    await w.finish();
    const [rec] = parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rec).toMatchObject({ id: '7', 'input.id': 'src-id', 'input.error': 'src-error' });
  });

  it('close() writes held rows in row order, keeps the journal, and leaves valid JSON', async () => {
    const file = path.join(dir, 'r.json');
    const w = await ReportWriter.open({ path: file, format: 'json', inputColumns: [] });
    w.add([outcome(5), outcome(3)]);
    await w.close();
    await w.close(); // idempotent
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).map((r: { row: number }) => r.row)).toEqual([3, 5]);
    expect(fs.existsSync(`${file}.journal`)).toBe(true);
    expect(() => w.add([outcome(1)])).toThrow();
  });

  it('an empty JSON report is an empty array', async () => {
    const file = path.join(dir, 'r.json');
    const w = await ReportWriter.open({ path: file, format: 'json', inputColumns: [] });
    await w.finish();
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual([]);
  });

  it('honours firstRow', async () => {
    const file = path.join(dir, 'r.json');
    const w = await ReportWriter.open({ path: file, format: 'json', inputColumns: [], firstRow: 11 });
    w.add([outcome(12), outcome(11)]);
    await w.finish();
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).map((r: { row: number }) => r.row)).toEqual([11, 12]);
  });

  it('fails to open an unwritable path with a usage error', async () => {
    await expect(
      ReportWriter.open({ path: path.join(dir, 'no-such-dir', 'r.csv'), format: 'csv', inputColumns: [] }),
    ).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('no-such-dir') });
  });

  it('streams 200k in-order outcomes straight to disk without holding any', async () => {
    const file = path.join(dir, 'big.csv');
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: ['name', 'port_count'] });
    let lastSize = 0;
    for (let start = 1; start <= 200_000; start += 200) {
      const batch: RowOutcome[] = [];
      for (let r = start; r < start + 200; r++) batch.push({ row: r, status: 'ok', id: r, values: vals({ name: `sw-${r}`, port_count: '48' }) });
      w.add(batch);
      expect(w.buffered).toBe(0);
      if (start % 20_000 === 1) {
        // Every in-order row is on disk as soon as add() returns.
        const size = fs.statSync(file).size;
        expect(size).toBeGreaterThan(lastSize);
        lastSize = size;
      }
    }
    expect(w.written).toBe(200_000);
    await w.finish();
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(200_001);
    expect(lines[200_000]).toBe(`200000,ok,200000,,,,,,${fingerprintText({ name: 'sw-200000', port_count: '48' })},,sw-200000,48`);
  });

  for (const format of ['csv', 'json', 'ndjson'] as const) {
    it(`lazy rows (settled without the server) are written in order with the others, never journaled (${format})`, async () => {
      const file = path.join(dir, `lazy.${format}`);
      const w = await ReportWriter.open({ path: file, format, inputColumns: ['name'] });
      w.add([outcome(1, { status: 'invalid', id: undefined, error: 'bad' })], true);
      w.add([outcome(4, { status: 'unsent', id: undefined })], true); // held: waits for rows 2-3
      w.add([outcome(3)]); // held, durable: journaled
      expect(fs.readFileSync(`${file}.journal`, 'utf8').trim().split('\n').map((l) => JSON.parse(l).row)).toEqual([3]);
      w.add([outcome(2)]); // releases 2, 3, 4, and writes row 1 before them
      for (let r = 5; r <= 3000; r++) w.add([outcome(r, { status: 'unsent', id: undefined })], true);
      expect(w.written).toBe(3000);
      await w.finish();
      const rows = readReport(file, format);
      expect(rows.map((r) => Number(r.row))).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
      expect(rows.slice(0, 4).map((r) => r.status)).toEqual(['invalid', 'ok', 'ok', 'unsent']);
      expect(fs.existsSync(`${file}.journal`)).toBe(false);
    });
  }

  it('close() writes the lazy rows not written yet before the held ones', async () => {
    const file = path.join(dir, 'lazy-close.csv');
    const w = await ReportWriter.open({ path: file, format: 'csv', inputColumns: [] });
    w.add([outcome(1, { status: 'unsent', id: undefined }), outcome(2, { status: 'unsent', id: undefined })], true);
    w.add([outcome(4)]);
    await w.close();
    expect(readReport(file, 'csv').map((r) => r.row)).toEqual(['1', '2', '4']);
  });

  it('a SIGKILLed process leaves every finished row in the report or the journal', () => {
    const file = path.join(dir, 'killed.json');
    const script = `
      import { ReportWriter } from ${JSON.stringify(path.resolve('src/report/writer.ts'))};
      const w = await ReportWriter.open({ path: ${JSON.stringify(file)}, format: 'json', inputColumns: [] });
      w.add([{ row: 1, status: 'ok', id: 1 }, { row: 2, status: 'ok', id: 2 }]);
      w.add([{ row: 5, status: 'failed', error: 'x' }, { row: 4, status: 'ok', id: 4, detail: 'already exists' }]);
      process.kill(process.pid, 'SIGKILL');
    `;
    const scriptFile = path.join(dir, 'kill.mts');
    fs.writeFileSync(scriptFile, script);
    const res = spawnSync(process.execPath, ['--import', 'tsx', scriptFile], { encoding: 'utf8' });
    expect(res.signal).toBe('SIGKILL');
    return readPriorReport(file).then((prior) => {
      expect(prior.counts).toEqual({ ok: 3, failed: 1, invalid: 0, unsent: 0, unchanged: 0 });
      expect(prior.statusOf(3)).toBeUndefined();
      expect(prior.outcome(4)).toEqual({ row: 4, status: 'ok', id: 4, detail: 'already exists' });
    });
  });
});

describe('defaultReportPath', () => {
  const at = new Date(2026, 11, 2, 7, 36, 5); // local time, as in the name
  it('puts the report next to the input, the time of the run in its name', () => {
    expect(defaultReportPath('data/switches.csv', 'create-inst', 'csv', at)).toBe(path.join('data', 'switches.create-inst.20261202-073605.report.csv'));
    expect(defaultReportPath('/x/links.ndjson', 'associate', 'json', at)).toBe('/x/links.associate.20261202-073605.report.json');
    expect(defaultReportPath('changes.jsonl', 'update-inst', 'ndjson', at, 'plan')).toBe('changes.update-inst.20261202-073605.plan.ndjson');
    expect(latestReportLink('data/switches.csv', 'create-inst', 'csv')).toBe(path.join('data', 'switches.create-inst.latest.report.csv'));
  });
  it('puts a stdin report in the current folder', () => {
    expect(defaultReportPath('-', 'update-inst', 'ndjson', at)).toBe(path.join(process.cwd(), 'stdin.update-inst.20261202-073605.report.ndjson'));
  });
  it('two runs in the same second get two names (claimPath creates the file exclusively)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmdb-bulk-claim-'));
    try {
      const wanted = defaultReportPath(path.join(dir, 'sw.csv'), 'create-inst', 'csv', at);
      const names = [claimPath(wanted), claimPath(wanted), claimPath(wanted)].map((p) => path.basename(p));
      expect(names).toEqual(['sw.create-inst.20261202-073605.report.csv', 'sw.create-inst.20261202-073605-2.report.csv', 'sw.create-inst.20261202-073605-3.report.csv']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a dry run with --report writes its plan beside it, never to it', () => {
    expect([planPath('x.report.csv'), planPath('dir/dry.csv'), planPath('out.json'), planPath('-')]).toEqual(['x.plan.csv', 'dir/dry.plan.csv', 'out.plan.json', '-']);
  });
});

describe('pointLink', () => {
  it('points the latest link at the newest report, and never replaces a real file of that name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmdb-bulk-link-'));
    try {
      const link = path.join(dir, 'sw.create-inst.latest.report.csv');
      expect(pointLink(link, path.join(dir, 'a.report.csv'))).toBeNull();
      expect(pointLink(link, path.join(dir, 'b.report.csv'))).toBeNull();
      expect(fs.readlinkSync(link)).toBe('b.report.csv');
      const real = path.join(dir, 'kept.latest.report.csv');
      fs.writeFileSync(real, 'row,status\n1,ok\n');
      expect(pointLink(real, path.join(dir, 'c.report.csv'))).toMatch(/not a link/);
      expect(fs.readFileSync(real, 'utf8')).toBe('row,status\n1,ok\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
