/**
 * Files as people have them (issue 15), end to end: the BUILT CLI against the in-process simulator. Each case is a
 * file as Excel, a spreadsheet user or an API export leaves it; what is asserted is the exit code, what the user is
 * told, the report's rows and the simulator's store (what was really created, and that nothing was sent when the
 * file was refused).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import type { Simulator } from '../../src/sim/index.js';
import { cmdbEnv, csv, expectRowsOnce, FIXTURES, readReport, runCli, tempDir, withSim } from './helpers.js';
import { SUMMARY_SCHEMA, validate } from '../support/summary-schema.js';

const tmp = tempDir();
const sims: Simulator[] = [];
afterAll(async () => {
  await Promise.all(sims.map((x) => x.close()));
  tmp.cleanup();
});

/** A simulator of its own for each test, so that the tests can run at the same time. */
async function world() {
  const sim = await withSim();
  sims.push(sim);
  return {
    sim,
    env: cmdbEnv(sim, 'apigw'),
    assetsWith: (prefix: string) =>
      sim.store.instances('bk_switch').filter((x) => String(x.bk_asset_id).startsWith(prefix)).sort((a, b) => String(a.bk_asset_id).localeCompare(String(b.bk_asset_id))),
    creates: () => sim.counters().requests.batch_create_inst ?? 0,
  };
}

/** create-inst of `input` into bk_switch with a report beside it; returns the run and the report path. */
async function create(w: Awaited<ReturnType<typeof world>>, input: string, extra: string[] = []) {
  const report = `${input}.report.csv`;
  const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report, ...extra], { env: w.env });
  return { ...r, report };
}

describe.concurrent('semicolon- and tab-separated files', () => {
  it('a semicolon-separated file (European Excel) loads without --delimiter, and the run says which delimiter it used', async () => {
    const w = await world();
    const input = tmp.file('semi.csv', csv(['bk_inst_name;bk_asset_id;port_count;remark', 'sw 1;SEMI-1;24;"a; b, c"', 'sw 2;SEMI-2;48;plain']));
    const r = await create(w, input);
    expect(r.stderr).toContain(`${input}: delimiter ';' (detected from the header; --delimiter chooses another)`);
    expect(r.code).toBe(0);
    const rows = readReport(r.report);
    expectRowsOnce(rows, 2);
    expect(rows.map((x) => x.status)).toEqual(['ok', 'ok']);
    expect(w.assetsWith('SEMI-').map((s) => [s.bk_inst_name, s.port_count, s.remark])).toEqual([['sw 1', 24, 'a; b, c'], ['sw 2', 48, 'plain']]);
  });

  it('a tab-separated .tsv loads without --delimiter', async () => {
    const w = await world();
    const input = tmp.file('tabs.tsv', csv(['bk_inst_name\tbk_asset_id\tvendor', '交换机 1\tTAB-1\t华为', '交换机 2\tTAB-2\tcisco']));
    const r = await create(w, input);
    expect(r.stderr).toContain("delimiter tab (detected from the header");
    expect(r.code).toBe(0);
    expect(w.assetsWith('TAB-').map((s) => [s.bk_inst_name, s.vendor])).toEqual([['交换机 1', 'huawei'], ['交换机 2', 'cisco']]);
  });

  it('a header that could be split two ways is refused with the delimiter it looks like, never "unknown field a;b"', async () => {
    const w = await world();
    const input = tmp.file('ambiguous.csv', csv(['bk_inst_name;bk_asset_id,port_count;remark', 'a;AMB-1,24;x', 'b;AMB-2,24;y']));
    const r = await create(w, input);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("looks like ';' — use --delimiter ';'");
    expect(r.stderr).not.toMatch(/unknown field|--no-schema/);
    expect(w.creates()).toBe(0);
  });

  it('--delimiter , given for a semicolon file: told it looks like ";", not an unknown field "a;b;c"', async () => {
    const w = await world();
    const input = tmp.file('semi-given.csv', csv(['bk_inst_name;bk_asset_id;port_count', 'sw 1;SG-1;24']));
    const r = await create(w, input, ['--delimiter', ',']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("looks like ';' — use --delimiter ';'");
    expect(r.stderr).not.toMatch(/unknown field|--no-schema/);
    expect(w.creates()).toBe(0);
  });
});

describe.concurrent('rows Excel leaves empty', () => {
  it('rows whose cells are all empty are skipped, not invalid; the real rows load and are numbered without them', async () => {
    const w = await world();
    const input = tmp.file('empty-rows.csv', csv([
      'bk_inst_name,bk_asset_id,port_count,vendor',
      'sw 1,EMPTY-1,24,cisco',
      ',,,',
      'sw 2,EMPTY-2,48,h3c',
      ', ,,',
      ',,,',
      ',,', // short as well as empty: still nothing in it
    ]));
    const r = await create(w, input, ['--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ total: 2, ok: 2, invalid: 0, empty_rows: 4 });
    expect(validate(SUMMARY_SCHEMA, summary)).toEqual([]);
    expect(r.stderr).toContain(`${input}: 4 rows with every cell empty skipped (not counted as rows)`);
    const rows = readReport(r.report);
    expectRowsOnce(rows, 2);
    expect(rows.map((x) => [x.row, x.status, x.bk_asset_id])).toEqual([[1, 'ok', 'EMPTY-1'], [2, 'ok', 'EMPTY-2']]);
    expect(w.assetsWith('EMPTY-').map((s) => s.bk_inst_name)).toEqual(['sw 1', 'sw 2']);
  });
});

describe.concurrent('JSON files that are API exports', () => {
  const rows = [
    { bk_inst_name: 'exp 1', bk_asset_id: 'X-1', port_count: 24 },
    { bk_inst_name: 'exp 2', bk_asset_id: 'X-2', port_count: 48, remark: 'has "info": [1] inside' },
  ];
  const shapes: Array<[string, (prefix: string) => unknown]> = [
    // search_instance's answer as saved from the API (CMDB: data.info), every envelope key around it
    ['data.info', (p) => ({ result: true, code: 0, message: 'success', permission: null, request_id: 'r1', data: { count: 2, info: withPrefix(p) } })],
    ['items', (p) => ({ items: withPrefix(p), total: 2 })],
    // Feishu's list answers: data.items, paging keys after the array
    ['data.items', (p) => ({ code: 0, msg: 'success', data: { items: withPrefix(p), has_more: false, page_token: '' } })],
  ];
  function withPrefix(p: string) {
    return rows.map((r) => ({ ...r, bk_asset_id: `${p}${r.bk_asset_id}` }));
  }

  it.each(shapes)('the rows at %s are read, and the run says so', async (path, shape) => {
    const w = await world();
    const prefix = `API-${path}-`;
    const input = tmp.file(`export-${path}.json`, JSON.stringify(shape(prefix), null, 2));
    const r = await create(w, input);
    expect(r.stderr).toContain(`${input}: an API export: the rows are the array at ${path}`);
    expect(r.code).toBe(0);
    expect(readReport(r.report).map((x) => [x.row, x.status])).toEqual([[1, 'ok'], [2, 'ok']]);
    expect(w.assetsWith(prefix).map((s) => [s.bk_inst_name, s.port_count, s.remark])).toEqual([['exp 1', 24, undefined], ['exp 2', 48, 'has "info": [1] inside']]);
  });

  it('an object with no rows array in it (a saved error answer) is refused, naming where rows were looked for', async () => {
    const w = await world();
    const input = tmp.file('error-answer.json', JSON.stringify({ result: false, code: 1199006, message: 'bad', data: null }));
    const r = await create(w, input);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no array of rows at data, data.info, data.items, items or info');
    expect(r.stderr).toContain('keys: result, code, message, data');
    expect(w.creates()).toBe(0);
  });
});

describe.concurrent('enum display names in JSON', () => {
  it('JSON and NDJSON rows may name an enum option by its display name, as CSV cells may', async () => {
    const w = await world();
    const data = [
      { bk_inst_name: 'j1', bk_asset_id: 'ENUM-1', vendor: '华为', tags: ['核心', 'lab'] },
      { bk_inst_name: 'j2', bk_asset_id: 'ENUM-2', vendor: 'Cisco' },
      { bk_inst_name: 'j3', bk_asset_id: 'ENUM-3', vendor: 'h3c' },
    ];
    const json = await create(w, tmp.file('enum.json', JSON.stringify(data)));
    expect(json.code).toBe(0);
    // bk_inst_name has a unique rule of its own on every model (issue 12): the second file names new instances.
    const nd = await create(w, tmp.file('enum.ndjson', data.map((d) => JSON.stringify({ ...d, bk_inst_name: `${d.bk_inst_name}n`, bk_asset_id: d.bk_asset_id.replace('ENUM', 'ENUMN') })).join('\n') + '\n'));
    expect(nd.code).toBe(0);
    expect(w.assetsWith('ENUM-').map((s) => [s.vendor, s.tags])).toEqual([['huawei', ['core', 'lab']], ['cisco', undefined], ['h3c', undefined]]);
    expect(w.assetsWith('ENUMN-').map((s) => s.vendor)).toEqual(['huawei', 'cisco', 'h3c']);
  });

  it('a name that is no option is still refused, listing the options', async () => {
    const w = await world();
    const r = await create(w, tmp.file('enum-bad.json', JSON.stringify([{ bk_inst_name: 'j', bk_asset_id: 'ENUMBAD-1', vendor: 'Juniper' }])));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('vendor: expected one of cisco, huawei, h3c, got "Juniper"');
    expect(w.creates()).toBe(0);
  });
});

describe.concurrent('Excel damage', () => {
  it('ids in scientific notation, date serial numbers and 48.5 for an int are refused, each saying what Excel did; nothing is sent', async () => {
    const w = await world();
    const input = tmp.file('excel-damage.csv', csv([
      'bk_inst_name,bk_asset_id,bk_sn,port_count,bought_on',
      'sw 1,XL-1,1.79868E+15,24,2023-07-16',
      'sw 2,XL-2,SN2,48.5,2023-07-16',
      'sw 3,XL-3,SN3,24,45123',
      'sw 4,1.23457E+11,SN4,24,',
    ]));
    const r = await create(w, input);
    expect(r.code).toBe(2);
    const rows = readReport(r.report);
    expectRowsOnce(rows, 4);
    expect(rows.map((x) => x.status)).toEqual(['invalid', 'invalid', 'invalid', 'invalid']);
    expect(rows[0]!.error).toBe(
      'bk_sn: "1.79868E+15" is a number Excel rounded to scientific notation (the digits after the 6th are lost): format the column as Text in Excel (ids of more than 15 digits before they are pasted in) and save the file again',
    );
    expect(rows[1]!.error).toContain('port_count: expected a whole number, got "48.5"');
    expect(rows[2]!.error).toBe(
      'bought_on: "45123" is an Excel date serial number (it would be 2023-07-16): format the column as a date (YYYY-MM-DD) or as Text in Excel and save the file again',
    );
    expect(rows[3]!.error).toContain('bk_asset_id: "1.23457E+11" is a number Excel rounded to scientific notation');
    expect(r.stderr).toContain('scientific notation');
    expect(w.creates()).toBe(0);
  });

  it('48.0 for an int (Excel\'s number format with one decimal) is the whole number 48', async () => {
    const w = await world();
    const input = tmp.file('excel-ints.csv', csv(['bk_inst_name,bk_asset_id,port_count', 'sw 1,XI-1,48.0', 'sw 2,XI-2,24.00']));
    const r = await create(w, input);
    expect(r.code).toBe(0);
    expect(w.assetsWith('XI-').map((s) => s.port_count)).toEqual([48, 24]);
  });
});

describe.concurrent('--failed keeps the input\'s encoding', () => {
  const fromFixture = (s: Record<string, unknown>) => /^SW-(BJ|SH|GZ|SZ|CD)-/.test(String(s.bk_asset_id));
  it('a GB18030 input gives a GB18030 --failed file that loads again with the same command', async () => {
    const w = await world();
    const input = join(FIXTURES, 'switches.gb18030.csv');
    const first = await create(w, tmp.file('gb-first.csv', readFileSync(input)), ['--encoding', 'gb18030']);
    expect(first.code).toBe(0);
    // The same file again: every row is a duplicate now, so every row goes to --failed.
    const failed = join(tmp.dir, 'gb.failed.csv');
    const again = await create(w, tmp.file('gb-again.csv', readFileSync(input)), ['--encoding', 'gb18030', '--failed', failed]);
    expect(again.code).toBe(3);
    const bytes = readFileSync(failed);
    expect(isUtf8(bytes)).toBe(false);
    const text = new TextDecoder('gb18030', { fatal: true }).decode(bytes);
    const source = new TextDecoder('gb18030').decode(readFileSync(input));
    expect(text.split('\n')[0]).toBe(`${source.split('\n')[0]!.trimEnd()},_error`);
    expect(text).toContain('核心交换机-北京-01,SW-BJ-0001');
    // Loaded twice: each row names the record that holds its value (found by bk_inst_name, the first unique field).
    expect(text).toContain('already exists: bk_inst_name ""核心交换机-北京-01"" → id');
    // Fed back as it is, with the same command, once the instances are gone: every row lands, Chinese intact.
    const created = w.sim.store.instances('bk_switch').filter(fromFixture).map((s) => [s.bk_asset_id, s.bk_inst_name, s.remark]);
    expect(created).toHaveLength(25);
    w.sim.reset();
    const fed = await create(w, failed, ['--encoding', 'gb18030']);
    expect(fed.code).toBe(0);
    expect(w.sim.store.instances('bk_switch').filter(fromFixture).map((s) => [s.bk_asset_id, s.bk_inst_name, s.remark])).toEqual(created);
  });

  it('a UTF-8 input with a byte order mark (Excel\'s "CSV UTF-8") gives a --failed file with one, and without one when it had none', async () => {
    const w = await world();
    const body = csv(['bk_inst_name,bk_asset_id,port_count', '交换机,BOM-1,4096']);
    const failedBom = join(tmp.dir, 'bom.failed.csv');
    const withBom = await create(w, tmp.file('bom.csv', '\uFEFF' + body), ['--skip-invalid', '--failed', failedBom]);
    expect(withBom.code).toBe(3);
    expect([...readFileSync(failedBom).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(readFileSync(failedBom, 'utf8')).toContain('\uFEFFbk_inst_name,bk_asset_id,port_count,_error\n交换机,BOM-1,4096,');
    const failedPlain = join(tmp.dir, 'plain.failed.csv');
    const plain = await create(w, tmp.file('plain.csv', body), ['--skip-invalid', '--failed', failedPlain]);
    expect(plain.code).toBe(3);
    expect(readFileSync(failedPlain, 'utf8').startsWith('bk_inst_name,')).toBe(true);
  });
});
