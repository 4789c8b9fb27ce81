import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const sw = (i: number, extra: Record<string, unknown> = {}) => ({ bk_inst_name: `new-${i}`, bk_asset_id: `SW-NEW-${i}`, ...extra });
const create = (details: unknown[], obj = 'bk_switch') => apigw(sim, 'POST', `/api/v3/createmany/instance/object/${obj}`, { details }, { lang: 'en' });
const DUP = /^duplicated instances exist, fields \[.*\] duplicated$/;

describe('batch_create_inst', () => {
  it('seeds the documented ids: switches 1001..1020, firewalls 1021..1025, new ones from 1026', async () => {
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-EXIST-0001')?.bk_inst_id).toBe(1001);
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-EXIST-0020')?.bk_inst_id).toBe(1020);
    expect(sim.store.instances('bk_firewall').map((r) => r.bk_inst_id)).toEqual([1021, 1022, 1023, 1024, 1025]);
    const r = await create([sw(1)]);
    expect(r.json.data.success_created).toEqual({ '0': 1026 });
  });

  it('refuses 201 details with 1199035 and creates nothing', async () => {
    const r = await create(Array.from({ length: 201 }, (_, i) => sw(i)));
    expect(r.json).toMatchObject({ result: false, code: 1199035 });
    expect(sim.store.instances('bk_switch')).toHaveLength(20);
    const ok = await create(Array.from({ length: 200 }, (_, i) => sw(i)));
    expect(Object.keys(ok.json.data.success_created)).toHaveLength(200);
  });

  it('refuses an empty list with 1199038', async () => {
    expect((await create([])).json).toMatchObject({ result: false, code: 1199038 });
  });

  it('answers a partial map with result:true and applies the good rows', async () => {
    const r = await create([sw(1), { bk_inst_name: 'x', bk_asset_id: 'SW-EXIST-0003' }, sw(2)]);
    expect(r.json).toMatchObject({ result: true, code: 0 });
    expect(r.json.data.success_created).toEqual({ '0': 1026, '2': 1027 });
    // Per-row errors are the message only, never a code (topo_server logics/inst/inst.go CreateManyInstance).
    expect(r.json.data.error_msg).toEqual({ '1': 'duplicated instances exist, fields [bk_asset_id: "SW-EXIST-0003"] duplicated' });
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-NEW-2')?.bk_inst_id).toBe(1027);
  });

  it('still answers result:true when every row failed', async () => {
    const r = await create([{ bk_inst_name: 'a' }, { bk_asset_id: 'b' }]);
    expect(r.json).toMatchObject({ result: true, code: 0, data: { success_created: {} } });
    expect(Object.keys(r.json.data.error_msg)).toEqual(['0', '1']);
  });

  it('checks every unique rule (bk_inst_name by default, bk_asset_id) against existing data and within the batch', async () => {
    const r = await create([sw(1), sw(1), { bk_inst_name: 'e', bk_asset_id: 'SW-EXIST-0007' }, { bk_inst_name: 'switch-exist-02', bk_asset_id: 'SW-X' }], 'bk_switch');
    expect(r.json.data.success_created).toEqual({ '0': 1026 });
    expect(r.json.data.error_msg['1']).toMatch(DUP);
    expect(r.json.data.error_msg['2']).toBe('duplicated instances exist, fields [bk_asset_id: "SW-EXIST-0007"] duplicated');
    expect(r.json.data.error_msg['3']).toBe('duplicated instances exist, fields [bk_inst_name: "switch-exist-02"] duplicated');
    expect(sim.counters().duplicateKeyAttempts).toBe(3);
    expect(sim.store.instances('bk_switch').filter((x) => x.bk_asset_id === 'SW-NEW-1')).toHaveLength(1);
  });

  it('words the duplicate in Chinese by default', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details: [{ bk_inst_name: 'a', bk_asset_id: 'SW-EXIST-0001' }] });
    expect(r.json.data.error_msg['0']).toBe('数据唯一性校验失败， bk_asset_id: "SW-EXIST-0001" 重复');
  });

  it('a multi-field rule (bk_firewall bk_sn + zone) binds only rows that fill all its fields, and their combination', async () => {
    // Seeded firewall 1: bk_sn SN-FW-0001, zone core.
    const r = await create([
      { bk_inst_name: 'f1', bk_asset_id: 'FW-1', bk_sn: 'SN-FW-0001' }, { bk_inst_name: 'f2', bk_asset_id: 'FW-2', bk_sn: 'SN-FW-0001', zone: 'dmz' },
      { bk_inst_name: 'f3', bk_asset_id: 'FW-3', bk_sn: 'SN-FW-0001', zone: 'core' },
    ], 'bk_firewall');
    expect(Object.keys(r.json.data.success_created)).toEqual(['0', '1']);
    expect(r.json.data.error_msg['2']).toBe('duplicated instances exist, fields [bk_sn: "SN-FW-0001", zone: "core"] duplicated');
  });

  it('trims text before checking and storing it: a padded duplicate is a duplicate, lengths count UTF-8 bytes', async () => {
    const r = await create([
      sw(1, { bk_inst_name: '  padded  ', bk_sn: ' x ' }), { bk_inst_name: 'p2', bk_asset_id: ' SW-EXIST-0001 ' },
      sw(3, { bk_sn: '交'.repeat(85) }), sw(4, { bk_sn: '交'.repeat(86) }),
    ]);
    expect(r.json.data.success_created).toEqual({ '0': 1026, '2': 1027 });
    expect(sim.store.instance('bk_switch', 1026)).toMatchObject({ bk_inst_name: 'padded', bk_sn: 'x' });
    expect(r.json.data.error_msg['1']).toMatch(DUP);
    expect(r.json.data.error_msg['3']).toBe('Data out of bounds'); // 86 × 3 bytes = 258 > 256
  });

  it('checks objuser by the server pattern and ismultiple, enumquote as instance ids, time as the two accepted forms', async () => {
    const fw = (i: number, extra: Record<string, unknown>) => ({ bk_inst_name: `fx${i}`, bk_asset_id: `FX-${i}`, ...extra });
    const r = await create([
      fw(0, { owner: 'alice,bob' }), fw(1, { owner: '张三' }), fw(2, { owner: 'alice' }),
      fw(3, { peer: [1001] }), fw(4, { peer: [1001, 1002] }), fw(5, { peer: [999999] }), fw(6, { peer: 1001 }),
      fw(7, { online_at: '2024-01-02 03:04:05' }), fw(8, { online_at: '2024-01-02T03:04:05+08:00' }), fw(9, { online_at: '2024-01-02T03:04:05' }),
    ], 'bk_firewall');
    expect(Object.keys(r.json.data.success_created)).toEqual(['2', '3', '7', '8']);
    expect(r.json.data.error_msg).toEqual({
      '0': "'owner' data parameter verification does not pass",
      '1': "'owner' Field regular check failed",
      '4': 'current field type status is single choice, please set reasonable data',
      '5': "'peer' data parameter verification does not pass",
      '6': "'peer' data parameter verification does not pass",
      '9': "'online_at' data parameter verification does not pass",
    });
  });

  it('is strict about JSON types: int "5", bool "true" and an enum name are rejected; an enum id is accepted', async () => {
    const r = await create([
      sw(1, { port_count: '5' }), sw(2, { is_managed: 'true' }), sw(3, { vendor: 'Cisco' }), sw(4, { vendor: 'cisco', port_count: 5, is_managed: true }),
      sw(5, { port_count: 2000 }), sw(6, { bought_on: '2024/01/02' }), sw(7, { tags: ['core', 'nope'] }), sw(8, { bk_sn: 12 }),
    ]);
    const e = r.json.data.error_msg;
    expect(e['0']).toBe("'port_count' parameters must be integral");
    expect(e['1']).toBe("'is_managed' must be boolean");
    expect(e['2']).toBe("'vendor' data parameter verification does not pass");
    expect(r.json.data.success_created).toEqual({ '3': 1026 });
    for (const [k, f] of [['4', 'port_count'], ['5', 'bought_on'], ['6', 'tags']]) expect(e[k]).toBe(`'${f}' data parameter verification does not pass`);
    expect(e['7']).toBe("'bk_sn' must be a string type");
    expect(sim.store.instance('bk_switch', 1026)).toMatchObject({ vendor: 'cisco', port_count: 5, is_managed: true });
  });

  it('drops unknown fields silently and accepts null for non-required fields', async () => {
    const r = await create([sw(1, { colour: 'red', bk_sn: null })]);
    expect(r.json.data.success_created).toEqual({ '0': 1026 });
    const row = sim.store.instance('bk_switch', 1026)!;
    expect(row).not.toHaveProperty('colour');
    expect(row.bk_sn).toBeNull();
  });

  it('treats a missing, null or empty required field as unassigned (1199010, naming the field)', async () => {
    const r = await create([{ bk_asset_id: 'A' }, { bk_inst_name: '', bk_asset_id: 'B' }, { bk_inst_name: null, bk_asset_id: 'C' }]);
    for (const k of ['0', '1', '2']) expect(r.json.data.error_msg[k]).toBe("'bk_inst_name' unassigned");
  });

  it('refuses built-in models (1199084) and unknown models (1101030)', async () => {
    expect((await create([{ bk_host_innerip: '1.1.1.1' }], 'host')).json).toMatchObject({ result: false, code: 1199084 });
    expect((await create([sw(1)], 'no_such_model')).json).toMatchObject({ result: false, code: 1101030 });
  });

  it('works the same through ESB, with bk_obj_id in the body', async () => {
    const r = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details: [sw(1)] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ result: true, code: 0, permission: null, data: { success_created: { '0': 1026 } } });
    expect(typeof r.json.request_id).toBe('string');
  });
});

describe('look-ups', () => {
  it('search_object_attribute returns CMDB-shaped attributes (int option as strings, enum ids)', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/find/objectattr', { bk_obj_id: 'bk_switch' });
    const byId = Object.fromEntries(r.json.data.map((a: { bk_property_id: string }) => [a.bk_property_id, a]));
    expect(byId.port_count).toMatchObject({ bk_property_type: 'int', option: { min: '1', max: '1024' } });
    expect(byId.vendor.option.map((o: { id: string }) => o.id)).toEqual(['cisco', 'huawei', 'h3c']);
    // Only bk_inst_name carries isonly: bk_asset_id is unique through a unique rule.
    expect(byId.bk_asset_id).toMatchObject({ isrequired: true, isonly: false });
    expect(byId.bk_inst_name).toMatchObject({ isrequired: true, isonly: true });
    expect(r.json.data.filter((a: { isonly: boolean }) => a.isonly).map((a: { bk_property_id: string }) => a.bk_property_id)).toEqual(['bk_inst_name']);
  });

  it('search_object_unique (gateway only) lists the rules by attribute id; the ESB has no such component (404)', async () => {
    const attrs = (await apigw(sim, 'POST', '/api/v3/find/objectattr', { bk_obj_id: 'bk_switch' })).json.data as { id: number; bk_property_id: string }[];
    const idOf = (f: string) => attrs.find((a) => a.bk_property_id === f)!.id;
    const r = await apigw(sim, 'POST', '/api/v3/find/objectunique/object/bk_switch', {});
    expect(r.json.data.map((u: { keys: unknown[] }) => u.keys)).toEqual([
      [{ key_kind: 'property', key_id: idOf('bk_inst_name') }], [{ key_kind: 'property', key_id: idOf('bk_asset_id') }],
    ]);
    expect(r.json.data[0]).toMatchObject({ bk_obj_id: 'bk_switch', ispre: true, bk_supplier_account: '0' });
    expect((await esb(sim, 'search_object_unique', { bk_obj_id: 'bk_switch' })).status).toBe(404);
  });

  it('search_object_instances filters, limits fields and pages; host rows carry bk_host_id', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', {
      fields: ['bk_asset_id'],
      conditions: { condition: 'OR', rules: [{ field: 'bk_asset_id', operator: 'in', value: ['SW-EXIST-0002', 'SW-EXIST-0005'] }, { field: 'bk_inst_id', operator: 'equal', value: 1010 }] },
      page: { start: 0, limit: 2, sort: '-bk_inst_id' },
    });
    // No count (DisableCounter), and info is null when nothing matches.
    expect(r.json.data).toEqual({ info: [{ bk_inst_id: 1010, bk_asset_id: 'SW-EXIST-0010' }, { bk_inst_id: 1005, bk_asset_id: 'SW-EXIST-0005' }] });
    const none = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', { conditions: { condition: 'AND', rules: [{ field: 'bk_asset_id', operator: 'equal', value: 'nope' }] }, page: { start: 0, limit: 10 } });
    expect(none.json.data).toEqual({ info: null });
  });

  it('search_object_instances refuses built-in models with 1199084; hosts come from list_hosts_without_biz with bk_host_id', async () => {
    const body = { fields: ['bk_host_innerip'], page: { start: 0, limit: 10 } };
    for (const obj of ['host', 'biz', 'set', 'module', 'process', 'plat']) {
      expect((await esb(sim, 'search_object_instances', { bk_obj_id: obj, ...body })).json).toMatchObject({ result: false, code: 1199084 });
    }
    const filter = { condition: 'AND', rules: [{ field: 'bk_host_innerip', operator: 'in', value: ['10.0.0.7', '10.0.0.9'] }] };
    const h = await esb(sim, 'list_hosts_without_biz', { ...body, host_property_filter: filter });
    expect(h.json.data).toEqual({ count: 2, info: [{ bk_host_id: 7, bk_host_innerip: '10.0.0.7' }, { bk_host_id: 9, bk_host_innerip: '10.0.0.9' }] });
    const gw = await apigw(sim, 'POST', '/api/v3/hosts/list_hosts_without_app', { ...body, host_property_filter: filter });
    expect(gw.json.data).toEqual(h.json.data);
    expect((await esb(sim, 'list_hosts_without_biz', { page: { start: 0, limit: 1001 } })).json).toMatchObject({ result: false, code: 1199006 });
  });

  it('filter-level errors use bk_error_code / bk_error_msg on apigw and code / message on ESB', async () => {
    const body = { conditions: { condition: 'AND', rules: [{ field: 'x', operator: 'regex_like', value: 1 }] }, page: { start: 0, limit: 10 } };
    const gw = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', body);
    expect(gw.json).toMatchObject({ result: false, bk_error_code: 1199006 });
    expect(gw.json).not.toHaveProperty('code');
    const big = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', { page: { start: 0, limit: 501 } });
    expect(big.json).toMatchObject({ result: false, bk_error_code: 1199006, bk_error_msg: "'page.limit' 数据参数校验不通过" });
    const e = await esb(sim, 'search_object_instances', { bk_obj_id: 'bk_switch', ...body });
    expect(e.json).toMatchObject({ result: false, code: 1199006 });
  });

  it('find_object_association lists association kinds by condition', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/find/objectassociation', { condition: { bk_obj_asst_id: 'bk_switch_connect_host' } });
    expect(r.json.data).toEqual([{ id: 1, bk_obj_asst_id: 'bk_switch_connect_host', bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', bk_asst_id: 'connect', mapping: 'n:n', on_delete: 'none' }]);
  });
});

describe("world 'empty-extra'", () => {
  it('has the models, hosts and processes but no custom instances, links or Feishu records', async () => {
    const empty = await startSimulator({ world: 'empty-extra' });
    try {
      expect(empty.store.instances('bk_switch')).toEqual([]);
      expect(empty.store.associations()).toEqual([]);
      expect(empty.store.records('package_demo__c', 'device')).toEqual([]);
      expect(empty.store.hosts()).toHaveLength(200);
      expect(empty.store.processes()).toHaveLength(510);
      const r = await apigw(empty, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details: [{ bk_inst_name: 'a', bk_asset_id: 'A' }] });
      expect(r.json.data.success_created).toEqual({ '0': 1001 });
    } finally {
      await empty.close();
    }
  });
});
