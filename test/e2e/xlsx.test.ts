/**
 * Excel end to end: workbooks the tests build (CMDB's own layout, an Excel-saved plain sheet) and display-name
 * headers, run through the BUILT CLI against the simulator; the simulator's store and the report are the proof.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Workbook } from '@cj-tech-master/excelts';
import { openInput } from '../../src/input/index.js';
import { BK_SWITCH_TEMPLATE as TEMPLATE, writeCmdbAssociationWorkbook, writeCmdbWorkbook } from '../support/workbooks.js';
import { cmdbEnv, csv, readReport, ROOT, runCli, useSim } from './helpers.js';

const { sim, tmp } = await useSim();

const switches = () => sim.store.instances('bk_switch');
const byAsset = (id: string) => switches().find((s) => s.bk_asset_id === id);
const pick = (row: Record<string, unknown> | undefined, keys: string[]) => Object.fromEntries(keys.map((k) => [k, row?.[k]]));
const FIELDS = ['bk_inst_name', 'bk_operator', 'port_count', 'is_managed', 'vendor', 'bought_on', 'remark', 'tags'];


describe('CMDB workbook', () => {
  it('a template filled in (no id column) creates instances with the values the server wants', async () => {
    const file = join(tmp.dir, 'template.xlsx');
    await writeCmdbWorkbook(file, {
      sheet: 'bk_switch',
      otherSheets: ['association', '枚举字段名映射'],
      dataLabel: true,
      columns: TEMPLATE,
      rows: [
        ['核心-01', 'XL-0001', 'admin(管理员),zhangsan(张三)', 48, true, '华为', new Date(Date.UTC(2024, 4, 1)), "'=SUM(A1)", '核心\n接入'],
        ['汇聚-02', 'XL-0002', 'lisi(李四)', 24, false, 'Cisco', new Date(Date.UTC(2024, 4, 2)), "'@home", '实验'],
      ],
      numFmt: { 7: 'yyyy-mm-dd' },
    });
    const report = join(tmp.dir, 'template.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(sim, 'apigw') });
    expect(r.stderr).toMatch(/2 ok/);
    expect(r.stderr).toContain(`${file}: sheet "bk_switch" (CMDB's layout: field ids from row 3, data from row 7)`);
    expect(r.code).toBe(0);
    expect(pick(byAsset('XL-0001'), FIELDS)).toEqual({
      bk_inst_name: '核心-01', bk_operator: 'admin,zhangsan', port_count: 48, is_managed: true, vendor: 'huawei',
      bought_on: '2024-05-01', remark: '=SUM(A1)', tags: ['core', 'access'],
    });
    expect(pick(byAsset('XL-0002'), FIELDS)).toEqual({
      bk_inst_name: '汇聚-02', bk_operator: 'lisi', port_count: 24, is_managed: false, vendor: 'cisco',
      bought_on: '2024-05-02', remark: '@home', tags: ['lab'],
    });
    const rows = readReport(report);
    expect(rows.map((x) => [x.row, x.status, x.id, x.bk_asset_id])).toEqual([
      [7, 'ok', String(byAsset('XL-0001')!.bk_inst_id), 'XL-0001'],
      [8, 'ok', String(byAsset('XL-0002')!.bk_inst_id), 'XL-0002'],
    ]);
  });

  it('an export edited in Excel (bk_inst_id in column B) goes to update-inst as it is', async () => {
    const [a, b] = switches();
    const file = join(tmp.dir, 'export.xlsx');
    await writeCmdbWorkbook(file, {
      sheet: 'bk_switch',
      columns: [['实例ID', '数字', 'bk_inst_id'], ['厂商', '枚举', 'vendor'], ['备注', '长字符', 'remark'], ['是否纳管', '布尔', 'is_managed']],
      rows: [
        [a!.bk_inst_id, '华三', "'-edited", true],
        [b!.bk_inst_id, 'Cisco', 'second', false],
      ],
    });
    // Given to create-inst by mistake, it is refused before anything is sent, saying which command fits.
    const wrong = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', join(tmp.dir, 'export-create.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('column "bk_inst_id" holds the ids of existing instances (as CMDB\'s export has it): to change those instances use update-inst');
    expect(sim.counters().writeRequests).toBe(0);

    const report = join(tmp.dir, 'export.report.csv');
    const r = await runCli(['update-inst', file, '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(r.stderr).toMatch(/2 ok/);
    expect(r.code).toBe(0);
    const now = (id: unknown) => sim.store.instance('bk_switch', Number(id));
    expect(pick(now(a!.bk_inst_id), ['vendor', 'remark', 'is_managed'])).toEqual({ vendor: 'h3c', remark: '-edited', is_managed: true });
    expect(pick(now(b!.bk_inst_id), ['vendor', 'remark', 'is_managed'])).toEqual({ vendor: 'cisco', remark: 'second', is_managed: false });
    expect(readReport(report).map((x) => [x.row, x.status])).toEqual([[7, 'ok'], [8, 'ok']]);
  });
});

describe('an Excel-saved plain sheet', () => {
  /** Shared strings (stored after the sheet, as Excel does), display-name headers, a date cell, a rounded id. */
  async function excelFile(path: string, rows: unknown[][]): Promise<void> {
    const wb = new Workbook();
    wb.addWorksheet('说明').addRow(['read me']);
    const ws = wb.addWorksheet('bk_switch');
    ws.addRow(['实例名', '固资编号', '设备SN', '端口数', '采购日期', '厂商']);
    for (const r of rows) ws.addRow(r);
    ws.getColumn(5).numFmt = 'yyyy/m/d';
    await wb.xlsx.writeFile(path);
  }

  it('loads by display names; a long id Excel rounded is refused with its reason and row; --failed writes an xlsx that loads again', async () => {
    const file = join(tmp.dir, 'saved.xlsx');
    await excelFile(file, [
      ['接入-01', 'XS-0001', 'SN-1', 48, new Date(Date.UTC(2023, 1, 8)), '华三'],
      ['接入-02', 'XS-0002', 1798680000000000, 24, new Date(Date.UTC(2023, 1, 9)), 'Cisco'],
      ['接入-03', 'XS-0003', 'SN-3', 12, null, '华为'],
    ]);
    const report = join(tmp.dir, 'saved.report.csv');
    const failed = join(tmp.dir, 'saved.failed.xlsx');
    const scratch = join(tmp.dir, 'scratch');
    mkdirSync(scratch);
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--failed', failed, '--skip-invalid'], { env: cmdbEnv(sim, 'apigw', { TMPDIR: scratch }) });
    expect(r.code).toBe(3);
    expect(readdirSync(scratch)).toEqual([]); // no temp copies after a run (the sheet is stored before its shared strings)
    expect(pick(byAsset('XS-0001'), ['bk_inst_name', 'bk_sn', 'port_count', 'bought_on', 'vendor'])).toEqual({ bk_inst_name: '接入-01', bk_sn: 'SN-1', port_count: 48, bought_on: '2023-02-08', vendor: 'h3c' });
    expect(pick(byAsset('XS-0003'), ['bk_sn', 'port_count', 'bought_on', 'vendor'])).toEqual({ bk_sn: 'SN-3', port_count: 12, bought_on: undefined, vendor: 'huawei' });
    expect(byAsset('XS-0002')).toBeUndefined();
    const rows = readReport(report);
    expect(rows.map((x) => [x.row, x.status])).toEqual([[2, 'ok'], [3, 'invalid'], [4, 'ok']]);
    expect(rows[1]!.error).toMatch(/^设备SN \(cell C3\): the number 1798680000000000 has 16 digits, but Excel keeps only 15/);
    expect(Object.keys(rows[0]!)).toContain('固资编号'); // the report keeps the user's headers

    const back = await openInput({ file: failed, obj: 'bk_switch' });
    expect(back.columns).toEqual(['实例名', '固资编号', '设备SN', '端口数', '采购日期', '厂商', '_error']);
    const records = [];
    for await (const rec of back.records()) records.push({ ...rec.values });
    await back.close();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ 固资编号: 'XS-0002', 设备SN: '1798680000000000', _error: expect.stringMatching(/Excel keeps only 15/) });

    // Fixed in Excel (the id typed as text) and loaded again: the same command, the failed file as input.
    const fixed = join(tmp.dir, 'fixed.xlsx');
    const wb = new Workbook();
    await wb.xlsx.readFile(failed);
    wb.getWorksheet('bk_switch')!.getCell('C2').value = '1798681438085123';
    await wb.xlsx.writeFile(fixed);
    const again = await runCli(['create-inst', fixed, '--obj', 'bk_switch', '--report', join(tmp.dir, 'fixed.report.csv')], { env: cmdbEnv(sim, 'apigw') });
    expect(again.code).toBe(0);
    expect(pick(byAsset('XS-0002'), ['bk_sn', 'port_count', 'bought_on', 'vendor'])).toEqual({ bk_sn: '1798681438085123', port_count: 24, bought_on: '2023-02-09', vendor: 'cisco' });
  });

  it('reads standard input with --format xlsx, and --sheet picks the sheet', async () => {
    const file = join(tmp.dir, 'stdin.xlsx');
    await excelFile(file, [['接入-09', 'XS-0009', 'SN-9', 8, null, 'Cisco']]);
    const r = await runCli(['create-inst', '-', '--obj', 'bk_switch', '--sheet', '说明', '--format', 'xlsx', '--dry-run', '--report', join(tmp.dir, 'stdin.report.csv')], {
      env: cmdbEnv(sim, 'esb'),
      input: readFileSync(file),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/<stdin>: the header has problems:\n\s+- unknown field "read me" for model bk_switch/);
    const s = await runCli(['create-inst', '-', '--obj', 'bk_switch', '--format', 'xlsx', '--json', '--report', join(tmp.dir, 'stdin2.report.csv')], { env: cmdbEnv(sim, 'esb'), input: readFileSync(file) });
    expect(JSON.parse(s.stdout)).toMatchObject({ total: 1, ok: 1 });
    expect(byAsset('XS-0009')?.vendor).toBe('cisco');
  });
});

describe('display-name headers in CSV', () => {
  it('Chinese display names (with the (必填) suffix) load as their fields', async () => {
    const input = tmp.file('cn.csv', csv(['实例名(必填),固资编号(必填),端口数,厂商,是否纳管', '核心-CN,CN-0001,96,华为,是']));
    const report = join(tmp.dir, 'cn.report.csv');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(0);
    expect(pick(byAsset('CN-0001'), ['bk_inst_name', 'port_count', 'vendor', 'is_managed'])).toEqual({ bk_inst_name: '核心-CN', port_count: 96, vendor: 'huawei', is_managed: true });
    expect(readReport(report)[0]).toMatchObject({ row: 1, status: 'ok', '实例名(必填)': '核心-CN' });
  });

  it('English display names, any case, load as their fields', async () => {
    const names: Record<string, string> = { bk_inst_name: 'Name', bk_asset_id: 'Asset ID', port_count: 'Port count', vendor: 'Vendor' };
    for (const a of sim.store.models.get('bk_switch')!.attributes) if (names[a.bk_property_id]) a.bk_property_name = names[a.bk_property_id]!;
    const input = tmp.file('en.csv', csv(['Name (Required),ASSET ID,port count,Vendor', 'core-EN,EN-0001,12,Cisco']));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', join(tmp.dir, 'en.report.csv')], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code).toBe(0);
    expect(pick(byAsset('EN-0001'), ['bk_inst_name', 'port_count', 'vendor'])).toEqual({ bk_inst_name: 'core-EN', port_count: 12, vendor: 'cisco' });
  });

  it('an unknown header gets the field it most likely meant, a shared display name is refused naming the fields; nothing is sent and --no-schema is never advised', async () => {
    for (const a of sim.store.models.get('bk_switch')!.attributes) if (a.bk_property_id === 'bk_sn' || a.bk_property_id === 'remark') a.bk_property_name = '说明';
    const input = tmp.file('bad.csv', csv(['实例名,固资编,说明', 'x,BAD-1,y']));
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', join(tmp.dir, 'bad.report.csv')], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown field "固资编" for model bk_switch (did you mean "固资编号" (bk_asset_id)?)');
    expect(r.stderr).toContain('"说明" is the display name of 2 fields of model bk_switch (bk_sn, remark): use the field id as the header');
    expect(r.stderr).not.toMatch(/no-schema/);
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('display-name headers in update-inst', () => {
  it('a non-editable field named by its display name is refused before anything is sent', async () => {
    const fw = sim.store.instances('bk_firewall')[0]!;
    const input = tmp.file('fw.csv', csv(['bk_inst_id,上线时间,吞吐量', `${fw.bk_inst_id},2024-01-01 00:00:00,10`]));
    const r = await runCli(['update-inst', input, '--obj', 'bk_firewall', '--report', join(tmp.dir, 'fw.report.csv')], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('field "上线时间" (online_at) of bk_firewall is not editable; the server would ignore it');
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('the workbook library is loaded only to write workbooks', () => {
  const trace = join(tmp.dir, 'modules.txt');
  const traced = async (args: string[], input?: Buffer) => {
    rmSync(trace, { force: true });
    const r = await runCli(args, { env: { ...cmdbEnv(sim, 'esb'), MODULE_TRACE: trace, NODE_OPTIONS: `--import ${pathToFileURL(join(ROOT, 'test/support/module-trace.mjs')).href}` }, input });
    return { r, modules: existsSync(trace) ? readFileSync(trace, 'utf8') : '' };
  };

  it('not for --help, a CSV run or reading an .xlsx (the tool\'s own reader); yes for an .xlsx --failed file', async () => {
    const help = await traced(['create-inst', '--help']);
    expect(help.r.code).toBe(0);
    expect(help.modules).not.toMatch(/excelts/); // answered from the build's record: only the bin (fast-start.test.ts)
    const input = tmp.file('one.csv', csv(['bk_inst_name,bk_asset_id', 'x,TR-1']));
    const run = await traced(['create-inst', input, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, 'one.report.csv')]);
    expect(run.r.code).toBe(0);
    expect(run.modules).toMatch(/dist\/input\/index\.js/);
    expect(run.modules).not.toMatch(/excelts|input\/xlsx/);
    const file = join(tmp.dir, 'one.xlsx');
    await writeCmdbWorkbook(file, { sheet: 'bk_switch', columns: TEMPLATE.slice(0, 2), rows: [['x', 'TR-2']] });
    const book = await traced(['create-inst', file, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, 'one-x.report.csv')]);
    expect(book.r.code).toBe(0);
    expect(book.modules).toMatch(/dist\/input\/xlsx\.js/);
    expect(book.modules).toMatch(/dist\/input\/zip\.js/);
    expect(book.modules).not.toMatch(/excelts/);
    // Writing the rows that failed as a workbook is what loads it.
    const failed = join(tmp.dir, 'one-x.failed.xlsx');
    const bad = join(tmp.dir, 'bad.xlsx');
    await writeCmdbWorkbook(bad, { sheet: 'bk_switch', columns: TEMPLATE.slice(0, 2), rows: [['x', 1798680000000000]] });
    const writing = await traced(['create-inst', bad, '--obj', 'bk_switch', '--dry-run', '--skip-invalid', '--failed', failed, '--report', join(tmp.dir, 'bad.report.csv')]);
    expect(writing.r.stderr).toMatch(/invalid/);
    expect(existsSync(failed)).toBe(true);
    expect(writing.modules).toMatch(/excelts/);
  });
});

describe("CMDB workbook: the association sheet feeds associate", () => {
  const CONNECT = 'bk_switch_connect_host';
  const CONTAIN = 'bk_firewall_contain_bk_switch';
  const pairs = (kind: string) => sim.store.associations(kind).map((a) => `${a.bk_inst_id}>${a.bk_asst_inst_id}`);
  const id = (asset: string) => byAsset(asset)!.bk_inst_id as number;

  it('rows named by "display name=value" pairs become the associations they name; the report keeps the sheet rows', async () => {
    const file = join(tmp.dir, 'with-links.xlsx');
    // The export of bk_switch with its association sheet (what CMDB's web UI writes), then edited in Excel.
    await writeCmdbAssociationWorkbook(file, { sheet: 'bk_switch', columns: [['ID', '数字', 'bk_inst_id'], ...TEMPLATE.slice(0, 2)], rows: [[1005, 'switch-exist-05', 'SW-EXIST-0005']] }, [
      [CONNECT, 'add', '固资编号=SW-EXIST-0005', '内网IP=10.0.0.50,管控区域=0'], // row 3: new
      [CONNECT, '', '实例名=switch-exist-06', '管控区域=0, 内网IP=10.0.0.51'], // row 4: empty operation (as exported), pairs in another order
      [CONTAIN, 'add', '实例名=fw-exist-03', 'bk_asset_id=SW-EXIST-0007'], // row 5: another kind; a field id also names a field
      [CONNECT, 'add', '固资编号=SW-EXIST-0001', '内网IP=10.0.0.1,管控区域=0'], // row 6: exists already
      [CONNECT, 'delete', '固资编号=SW-EXIST-0002', '内网IP=10.0.0.60,管控区域=0'], // row 7: not what associate does
      [CONNECT, 'add', '固资编号=SW-NOPE', '内网IP=10.0.0.61,管控区域=0'], // row 8: no such switch
      [CONNECT, 'add', '厂商=华为', '内网IP=10.0.0.62,管控区域=0'], // row 9: several switches
      [CONNECT, 'add', 'SW-EXIST-0003', '内网IP=10.0.0.63,管控区域=0'], // row 10: not pairs
    ]);
    const before = { connect: pairs(CONNECT), contain: pairs(CONTAIN) };
    const huawei = switches().filter((s) => s.vendor === 'huawei').map((s) => s.bk_inst_id);
    expect(huawei.length).toBeGreaterThan(1);
    const report = join(tmp.dir, 'with-links.report.csv');
    // No --sheet: associate reads the association sheet of a CMDB workbook.
    const r = await runCli(['associate', file, '--skip-invalid', '--report', report], { env: cmdbEnv(sim, 'apigw') });
    expect(r.stderr).toContain(`${file}: sheet "association" (CMDB's association sheet: columns B-E, data from row 3)`);
    expect(r.code).toBe(3);
    expect(pairs(CONNECT)).toEqual([...before.connect, `${id('SW-EXIST-0005')}>50`, `${id('SW-EXIST-0006')}>51`]);
    expect(pairs(CONTAIN)).toEqual([...before.contain, `1023>${id('SW-EXIST-0007')}`]);
    const rows = readReport(report);
    expect(rows.map((x) => [x.row, x.status])).toEqual([
      [3, 'ok'], [4, 'ok'], [5, 'ok'], [6, 'ok'], [7, 'invalid'], [8, 'invalid'], [9, 'invalid'], [10, 'invalid'],
    ]);
    expect(rows[0]!.detail).toContain(`src_primary_key 固资编号=SW-EXIST-0005 → ${id('SW-EXIST-0005')}; dst_primary_key 内网IP=10.0.0.50,管控区域=0 → 50`);
    expect(rows[3]!.detail).toContain('already exists');
    expect(rows[4]!.error).toContain('operate is "delete": associate only creates associations');
    expect(rows[5]!.error).toContain('src_primary_key: no bk_switch instance has 固资编号=SW-NOPE');
    expect(rows[6]!.error).toContain(`src_primary_key: ${huawei.length} bk_switch instances have 厂商=华为 (ids ${huawei.slice(0, 5).join(', ')}`);
    expect(rows[7]!.error).toContain('src_primary_key: "SW-EXIST-0003" is not a list of field=value pairs');
  });

  it('without --skip-invalid a bad row stops the run before anything is sent; --sheet still picks the model sheet', async () => {
    const file = join(tmp.dir, 'bad-links.xlsx');
    await writeCmdbAssociationWorkbook(file, { sheet: 'bk_switch', columns: TEMPLATE.slice(0, 2), rows: [] }, [
      [CONNECT, 'add', '固资编号=SW-EXIST-0008', '内网IP=10.0.0.70,管控区域=0'],
      [CONNECT, 'add', '实例名=nope', '内网IP=10.0.0.71,管控区域=0'],
    ]);
    const before = pairs(CONNECT);
    const r = await runCli(['associate', file], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no bk_switch instance has 实例名=nope');
    expect(pairs(CONNECT)).toEqual(before);
    const sheet = await runCli(['associate', file, '--sheet', 'bk_switch', '--dry-run'], { env: cmdbEnv(sim, 'esb') });
    expect(sheet.code).toBe(2);
    expect(sheet.stderr).toContain('sheet "bk_switch" (CMDB\'s layout');
  });
});

describe('CMDB workbook: enumquote cells name instances of the quoted model', () => {
  // bk_firewall.peer (对端交换机) quotes bk_switch instances, one at most (ismultiple false).
  const COLUMNS: Array<[string, string, string]> = [['实例名(必填)', '短字符', 'bk_inst_name'], ['固资编号(必填)', '短字符', 'bk_asset_id'], ['对端交换机', '枚举(引用)', 'peer']];
  const firewall = (asset: string) => sim.store.instances('bk_firewall').find((f) => f.bk_asset_id === asset);
  const switchId = (name: string) => switches().find((s) => s.bk_inst_name === name)!.bk_inst_id as number;

  it('names (as CMDB exports them) become the ids the server stores; a name of none or several is an invalid row with the choices', async () => {
    const twins = [sim.store.insert('bk_switch', { bk_inst_name: 'twin-q', bk_asset_id: 'SW-TWIN-1' }), sim.store.insert('bk_switch', { bk_inst_name: 'twin-q', bk_asset_id: 'SW-TWIN-2' })];
    const file = join(tmp.dir, 'firewalls.xlsx');
    await writeCmdbWorkbook(file, {
      sheet: 'bk_firewall',
      columns: COLUMNS,
      rows: [
        ['fw-new-01', 'FW-NEW-0001', 'switch-exist-03'], // row 7: a name
        ['fw-new-02', 'FW-NEW-0002', String(switchId('switch-exist-04'))], // row 8: an id
        ['fw-new-03', 'FW-NEW-0003', 'no-such-switch'], // row 9: names none
        ['fw-new-04', 'FW-NEW-0004', 'twin-q'], // row 10: names two
        ['fw-new-05', 'FW-NEW-0005', 'switch-exist-03\nswitch-exist-04'], // row 11: two names in a single-valued field
        ['fw-new-06', 'FW-NEW-0006', null], // row 12: empty
      ],
    });
    const report = join(tmp.dir, 'firewalls.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_firewall', '--skip-invalid', '--report', report], { env: cmdbEnv(sim, 'apigw') });
    expect(r.code).toBe(3);
    expect(firewall('FW-NEW-0001')?.peer).toEqual([switchId('switch-exist-03')]);
    expect(firewall('FW-NEW-0002')?.peer).toEqual([switchId('switch-exist-04')]);
    expect(firewall('FW-NEW-0006')).toBeDefined();
    for (const a of ['FW-NEW-0003', 'FW-NEW-0004', 'FW-NEW-0005']) expect(firewall(a)).toBeUndefined();
    const rows = readReport(report);
    expect(rows.map((x) => [x.row, x.status])).toEqual([[7, 'ok'], [8, 'ok'], [9, 'invalid'], [10, 'invalid'], [11, 'invalid'], [12, 'ok']]);
    expect(rows[2]!.error).toContain('peer: no bk_switch instance has bk_inst_name "no-such-switch"');
    expect(rows[3]!.error).toContain(`peer: 2 bk_switch instances have bk_inst_name "twin-q" (ids ${twins.join(', ')}): write the id of the one you mean`);
    expect(rows[4]!.error).toContain('peer: expected one instance id');
  });

  it('sync of a workbook: cells are text (numbers, names) and reach the server as it stores them', async () => {
    const file = join(tmp.dir, 'firewalls-sync.xlsx');
    await writeCmdbWorkbook(file, {
      sheet: 'bk_firewall',
      columns: [...COLUMNS, ['吞吐量', '浮点', 'throughput']],
      rows: [
        ['fw-exist-01', 'FW-EXIST-0001', 'switch-exist-09', 20], // update: a peer by name, a number
        ['fw-new-10', 'FW-NEW-0010', 'switch-exist-10', '7.5'], // create
      ],
    });
    const r = await runCli(['sync', file, '--obj', 'bk_firewall', '--key', 'bk_asset_id'], { env: cmdbEnv(sim, 'apigw') });
    expect(r.stderr).toContain('2 ok · 0 failed · 0 invalid');
    expect(r.code).toBe(0);
    expect(pick(firewall('FW-EXIST-0001'), ['peer', 'throughput'])).toEqual({ peer: [switchId('switch-exist-09')], throughput: 20 });
    expect(pick(firewall('FW-NEW-0010'), ['bk_inst_name', 'peer', 'throughput'])).toEqual({ bk_inst_name: 'fw-new-10', peer: [switchId('switch-exist-10')], throughput: 7.5 });
  });

  it('update-inst of an edited export changes a peer by name', async () => {
    const fw = sim.store.instances('bk_firewall')[0]!;
    const file = join(tmp.dir, 'firewalls-export.xlsx');
    await writeCmdbWorkbook(file, { sheet: 'bk_firewall', columns: [['ID', '数字', 'bk_inst_id'], COLUMNS[2]!], rows: [[fw.bk_inst_id, 'switch-exist-07']] });
    const r = await runCli(['update-inst', file, '--obj', 'bk_firewall'], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(0);
    expect(sim.store.instances('bk_firewall')[0]!.peer).toEqual([switchId('switch-exist-07')]);
  });
});

describe('memory', () => {
  /** 200,000 distinct strings of 100 characters, as an Excel-saved file (shared strings stored after the sheet). */
  let stringsFile: string | undefined;
  const stringsWorkbook = async (): Promise<string> => {
    if (stringsFile) return stringsFile;
    const file = join(tmp.dir, 'strings.xlsx');
    const { WorkbookWriter } = await import('@cj-tech-master/excelts');
    const wb = new WorkbookWriter({ filename: file, useSharedStrings: true });
    const ws = wb.addWorksheet('S');
    ws.addRow(['name']).commit();
    for (let i = 0; i < 200_000; i++) ws.addRow([`${String(i).padStart(8, '0')}-${'x'.repeat(91)}`]).commit();
    await ws.commit();
    await wb.commit();
    return (stringsFile = file);
  };
  /** Runs `body` in a process of its own with a real gc() and openInput; prints what it logs. */
  const measure = (body: string) => {
    const script = `
      import v8 from 'node:v8';
      import { runInNewContext } from 'node:vm';
      v8.setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc');
      const { openInput } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/input/index.js')).href)});
      await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/input/xlsx.js')).href)}); // its code is not what is measured
      const used = () => { const m = process.memoryUsage(); return (m.heapUsed + m.arrayBuffers) / 2 ** 20; };
      ${body}
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as Record<string, number>;
  };

  it('after a whole read the open input keeps next to nothing (no rows, no table of texts)', async () => {
    const file = await stringsWorkbook();
    // The heap before opening, and after the first read is done.
    const { n, retainedMb } = measure(`
      gc();
      const before = used();
      const src = await openInput({ file: ${JSON.stringify(file)} });
      let n = 0;
      for await (const b of src.batches()) n += b.length;
      await new Promise((r) => setTimeout(r, 100)); // the streams it closed finish closing
      gc();
      console.log(JSON.stringify({ n, retainedMb: used() - before }));
      await src.close();
    `);
    expect(n).toBe(200_000);
    // Measured 2 MB (the shared-strings spool's block caches, kept for the next read until close); the table held in
    // memory would be 36 MB, the library's reader kept after its read (before 2026-12-03) held 15-21 MB.
    expect(retainedMb).toBeLessThan(10);
  }, 300_000);

  it('while a sheet is read, its shared strings are in a temp file, not in memory', async () => {
    const file = await stringsWorkbook();
    // Half way through the sheet: what the read holds (the strings table was ~36 MB of JavaScript strings).
    const { n, midMb } = measure(`
      gc();
      const before = used();
      const src = await openInput({ file: ${JSON.stringify(file)} });
      let n = 0, midMb = 0;
      for await (const b of src.batches()) {
        n += b.length;
        if (midMb === 0 && n >= 100_000) { gc(); midMb = used() - before; }
      }
      console.log(JSON.stringify({ n, midMb }));
      await src.close();
    `);
    expect(n).toBe(200_000);
    // Measured 4 MB: the spool's 1.25 MB of cached blocks, a 64 KB chunk of the sheet and its rows in flight; with the
    // table in memory, 40 MB (the library's reader with the spool: 15-18 MB).
    expect(midMb).toBeLessThan(12);
  }, 300_000);
});
