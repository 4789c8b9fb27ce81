/**
 * export --format xlsx | cmdb-xlsx end to end: the built CLI against the simulator. The workbook must hold the
 * store's values, load back through update-inst without changing anything, carry an edit made in it exactly, and
 * appear under its name only when complete.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Workbook } from '@cj-tech-master/excelts';
import { cmdbEnv, feishuEnv, ROOT, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();

const switches = () => sim.store.instances('bk_switch');

function seedAwkwardSwitches() {
  sim.store.insert('bk_switch', { bk_inst_name: '核心交换机 "A"', bk_asset_id: 'SW-AWK-1', bk_sn: 'SN, with comma', bk_operator: 'alice,bob', port_count: 1024, is_managed: false, vendor: 'cisco', bought_on: '2024-02-29', remark: 'line one\nline two', tags: ['core', 'lab'] });
  sim.store.insert('bk_switch', { bk_inst_name: '=cmd', bk_asset_id: 'SW-AWK-2', bk_sn: null, port_count: 1, is_managed: true, vendor: 'h3c', remark: '', tags: [] });
}

/** The cells of a sheet, row by row (row 1 first, column A first), as the library reads them. */
async function sheetRows(path: string, sheet: string): Promise<unknown[][]> {
  const wb = new Workbook();
  await wb.xlsx.readFile(path);
  const ws = wb.getWorksheet(sheet);
  expect(ws, `sheet ${sheet} in ${path}`).toBeDefined();
  const rows: unknown[][] = [];
  ws!.eachRow({ includeEmpty: true }, (row, n) => {
    rows[n - 1] = (row.values as unknown[]).slice(1);
  });
  return rows;
}

async function exportWorkbook(format: 'xlsx' | 'cmdb-xlsx', gateway: 'esb' | 'apigw', name: string) {
  const env = cmdbEnv(sim, gateway);
  const out = join(tmp.dir, `${name}.xlsx`);
  const e = await runCli(['export', '--obj', 'bk_switch', '--format', format, '--out', out, '--page-size', '7', '--json'], { env });
  expect(e.stderr).toBe('');
  expect(e.code).toBe(0);
  expect(JSON.parse(e.stdout)).toMatchObject({ command: 'export', total: switches().length, ok: switches().length, exit_code: 0, out, format });
  expect(existsSync(`${out}.partial`)).toBe(false);
  return out;
}

describe.each(['esb', 'apigw'] as const)('export workbooks via %s', (gateway) => {
  it('cmdb-xlsx: CMDB\'s layout, and update-inst of it changes nothing in the store', async () => {
    seedAwkwardSwitches();
    const before = switches();
    const out = await exportWorkbook('cmdb-xlsx', gateway, `cmdb-${gateway}`);
    const rows = await sheetRows(out, 'bk_switch');
    expect(rows[0]![0]).toBe('字段名(请勿编辑)');
    expect(rows[2]!.slice(0, 4)).toEqual(['字段标识(请勿编辑)', 'bk_inst_id', 'bk_inst_name', 'bk_asset_id']);
    expect(rows).toHaveLength(6 + 22);
    const ids = rows[2]!;
    const awk = rows.slice(6).find((r) => r[ids.indexOf('bk_asset_id')] === 'SW-AWK-1')!;
    const cell = (id: string) => awk[ids.indexOf(id)];
    expect(cell('bk_inst_id')).toBe(sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-AWK-1')!.bk_inst_id);
    expect([cell('port_count'), cell('is_managed'), cell('remark')]).toEqual([1024, false, 'line one\nline two']);
    expect(cell('vendor')).toBe((sim.store.models.get('bk_switch')!.attributes.find((a) => a.bk_property_id === 'vendor')!.option as Array<{ id: string; name: string }>).find((o) => o.id === 'cisco')!.name);

    const r = await runCli(['update-inst', out, '--obj', 'bk_switch', '--report', join(tmp.dir, `cmdb-${gateway}.report.csv`), '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.stderr).not.toMatch(/error|warn/i);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 22, ok: 22, failed: 0, invalid: 0 });
    expect(switches()).toEqual(before);
  });

  it('xlsx: a plain sheet with the store\'s values that update-inst reads back unchanged', async () => {
    seedAwkwardSwitches();
    const before = switches();
    const out = await exportWorkbook('xlsx', gateway, `plain-${gateway}`);
    const rows = await sheetRows(out, 'bk_switch');
    expect(rows[0]).toEqual(['bk_inst_id', 'bk_inst_name', 'bk_asset_id', 'bk_sn', 'bk_operator', 'port_count', 'is_managed', 'vendor', 'bought_on', 'remark', 'tags']);
    expect(rows).toHaveLength(1 + 22);
    const awk = rows.find((r) => r[2] === 'SW-AWK-1')!;
    const id = sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-AWK-1')!.bk_inst_id;
    expect(awk).toEqual([id, '核心交换机 "A"', 'SW-AWK-1', 'SN, with comma', 'alice,bob', 1024, false, 'cisco', '2024-02-29', 'line one\nline two', 'core,lab']);

    const r = await runCli(['update-inst', out, '--obj', 'bk_switch', '--report', join(tmp.dir, `plain-${gateway}.report.csv`), '--json'], { env: cmdbEnv(sim, gateway) });
    expect(r.stderr).not.toMatch(/error|warn/i);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 22, ok: 22, failed: 0, invalid: 0 });
    expect(switches()).toEqual(before);
  });
});

describe.each(['esb', 'apigw'] as const)('export --assoc --format cmdb-xlsx via %s: CMDB\'s association sheet', (gateway) => {
  const CONNECT = 'bk_switch_connect_host'; // bk_switch → host
  const CONTAIN = 'bk_firewall_contain_bk_switch'; // bk_firewall → bk_switch
  const links = (kind: string) => sim.store.associations(kind).map((a) => [a.bk_inst_id, a.bk_asst_inst_id]);
  const forget = (kind: string) => {
    for (const [id, a] of sim.store.associationMap()) if (a.bk_obj_asst_id === kind) sim.store.associationMap().delete(id);
  };
  const named = (obj: string, id: unknown) => {
    if (obj === 'host') {
      const h = sim.store.hosts().find((x) => x.bk_host_id === id)!;
      return `管控区域=${String(h.bk_cloud_id)},内网IP=${String(h.bk_host_innerip)}`;
    }
    return `实例名=${String(sim.store.instances(obj).find((x) => x.bk_inst_id === id)!.bk_inst_name)}`;
  };

  it.each([[CONNECT, 'bk_switch', 'host'], [CONTAIN, 'bk_firewall', 'bk_switch']])('%s: each instance by its unique rule\'s pairs; the store\'s associations deleted, associate of the workbook makes them again', async (kind, obj, asstObj) => {
    const env = cmdbEnv(sim, gateway);
    if (kind === CONNECT) sim.store.associate(CONNECT, 1005, 9);
    const before = links(kind);
    expect(before.length).toBeGreaterThan(1);
    const out = join(tmp.dir, `${kind}-${gateway}.xlsx`);
    const e = await runCli(['export', '--assoc', kind, '--format', 'cmdb-xlsx', '--out', out, '--page-size', '2', '--json'], { env });
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ total: before.length, ok: before.length, failed: 0, format: 'cmdb-xlsx' });
    expect(e.stderr).toContain(`In CMDB, import the file on ${obj}'s page`);

    // The source model's sheet (header rows only), then the association sheet.
    const wb = new Workbook();
    await wb.xlsx.readFile(out);
    expect(wb.worksheets.map((w) => w.name)).toEqual([obj, 'association']);
    const model = await sheetRows(out, obj);
    expect(model.map((r) => r[0])).toEqual(['字段名(请勿编辑)', '字段类型(请勿编辑)', '字段标识(请勿编辑)', '表格字段名(请勿编辑)', '表格字段类型(请勿编辑)', '表格字段标识(请勿编辑)']);
    expect(model[2]).toContain('bk_inst_name');
    const rows = await sheetRows(out, 'association');
    expect(rows[0]).toEqual(['关联属性(请勿编辑)', '关联标识', '操作', '源实例', '目标实例']);
    expect(rows[1]![0]).toBe('填写说明(请勿编辑)');
    expect(rows.slice(2)).toEqual(before.map(([i, a]) => [undefined, kind, 'add', named(obj, i), named(asstObj, a)]));

    forget(kind);
    expect(links(kind)).toEqual([]);
    const report = join(tmp.dir, `${kind}-${gateway}.report.csv`);
    const back = await runCli(['associate', out, '--report', report, '--json'], { env });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toContain('sheet "association" (CMDB\'s association sheet');
    expect(JSON.parse(back.stdout)).toMatchObject({ total: before.length, ok: before.length });
    expect(links(kind)).toEqual(before);
  });

  it('an association whose instance cannot be named (a host with two IPs: "," splits the pairs) is left out: exit 3, named, the rest written', async () => {
    const env = cmdbEnv(sim, gateway);
    sim.store.instanceMap('host').get(2)!.bk_host_innerip = '10.0.0.2,10.8.0.2';
    sim.store.version++;
    const out = join(tmp.dir, `left-out-${gateway}.xlsx`);
    const e = await runCli(['export', '--assoc', CONNECT, '--format', 'cmdb-xlsx', '--out', out, '--json'], { env });
    expect(e.code).toBe(3);
    const s = JSON.parse(e.stdout);
    expect(s).toMatchObject({ total: 3, ok: 2, failed: 1, exit_code: 3 });
    expect(s.left_out[0]).toContain('host 2: 内网IP=10.0.0.2,10.8.0.2 cannot be written as a pair');
    const rows = await sheetRows(out, 'association');
    expect(rows.slice(2).map((r) => r[4])).toEqual(['管控区域=0,内网IP=10.0.0.1', '管控区域=0,内网IP=10.0.0.3']);
  });
});

describe('export workbooks: edits, names, refusals', () => {
  const env = () => cmdbEnv(sim, 'apigw');

  it('cmdb-xlsx → edit an enum by display name and a number in Excel → update-inst changes exactly those', async () => {
    const before = switches();
    const out = await exportWorkbook('cmdb-xlsx', 'apigw', 'edit');
    const wb = new Workbook();
    await wb.xlsx.readFile(out);
    const ws = wb.getWorksheet('bk_switch')!;
    const ids = (ws.getRow(3).values as unknown[]);
    const rowOf = (id: number) => {
      let n = 0;
      ws.eachRow((row, i) => (row.getCell(2).value === id ? (n = i) : undefined));
      expect(n).toBeGreaterThan(6);
      return ws.getRow(n);
    };
    rowOf(1001).getCell(ids.indexOf('port_count')).value = 96;
    rowOf(1003).getCell(ids.indexOf('vendor')).value = '华为';
    await wb.xlsx.writeFile(out);
    const r = await runCli(['update-inst', out, '--obj', 'bk_switch', '--report', join(tmp.dir, 'edit.report.csv')], { env: env() });
    expect(r.code).toBe(0);
    const after = new Map(switches().map((s) => [s.bk_inst_id, s]));
    const changed: string[] = [];
    for (const b of before) {
      const a = after.get(b.bk_inst_id)!;
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) changed.push(`${String(b.bk_inst_id)}.${k}=${JSON.stringify(a[k])}`);
    }
    expect(changed.sort()).toEqual(['1001.port_count=96', '1003.vendor="huawei"']);
  });

  it('.xlsx --out means the plain sheet; --assoc writes it too; cmdb-xlsx needs --obj or --assoc (exit 2, no file)', async () => {
    const plain = join(tmp.dir, 'by-ext.xlsx');
    const e = await runCli(['export', '--obj', 'bk_switch', '--out', plain, '--fields', 'bk_asset_id'], { env: env() });
    expect(e.code).toBe(0);
    const rows = await sheetRows(plain, 'bk_switch');
    expect(rows[0]).toEqual(['bk_inst_id', 'bk_asset_id']);
    expect(rows.slice(1).map((r) => r[1])).toEqual(switches().map((s) => s.bk_asset_id));

    const links = join(tmp.dir, 'links.xlsx');
    expect((await runCli(['export', '--assoc', 'bk_switch_connect_host', '--out', links], { env: env() })).code).toBe(0);
    const stored = sim.store.associations('bk_switch_connect_host');
    expect(stored.length).toBeGreaterThan(0);
    expect((await sheetRows(links, 'bk_switch_connect_host')).length).toBe(1 + stored.length);

    const records = join(tmp.dir, 'records-cmdb.xlsx');
    const refused = await runCli(['apaas-export', '--namespace', 'package_demo__c', '--object', 'device', '--fields', 'name', '--format', 'cmdb-xlsx', '--out', records], { env: feishuEnv(sim) });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cmdb-xlsx.*--obj.*--assoc.*--format xlsx/s);
    expect(existsSync(records)).toBe(false);
  });

  it('loads the workbook library only on the workbook path', async () => {
    const trace = join(tmp.dir, 'modules.txt');
    const traced = async (out: string) => {
      rmSync(trace, { force: true });
      const r = await runCli(['export', '--obj', 'bk_switch', '--out', out], { env: { ...env(), MODULE_TRACE: trace, NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, 'test/support/module-trace.mjs')).href}` } });
      expect(r.code).toBe(0);
      return readFileSync(trace, 'utf8');
    };
    const csvRun = await traced(join(tmp.dir, 'lazy.csv'));
    expect(csvRun).toMatch(/dist\/export\/sink\.js/);
    expect(csvRun).not.toMatch(/excelts|xlsx-sink|xlsx-writer/);
    expect(await traced(join(tmp.dir, 'lazy.xlsx'))).toMatch(/excelts/);
  });
});
