import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, codeOf, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const sw = (i: number, extra: Record<string, unknown> = {}) => ({ bk_inst_name: `new-${i}`, bk_asset_id: `SW-NEW-${i}`, ...extra });
const create = (details: unknown[], obj = 'bk_switch') => apigw(sim, 'POST', `/api/v3/createmany/instance/object/${obj}`, { details });

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
    expect(Object.keys(r.json.data.error_msg)).toEqual(['1']);
    expect(codeOf(r.json.data.error_msg['1'])).toBe(1199014);
    expect(sim.store.findBy('bk_switch', 'bk_asset_id', 'SW-NEW-2')?.bk_inst_id).toBe(1027);
  });

  it('still answers result:true when every row failed', async () => {
    const r = await create([{ bk_inst_name: 'a' }, { bk_asset_id: 'b' }]);
    expect(r.json).toMatchObject({ result: true, code: 0, data: { success_created: {} } });
    expect(Object.keys(r.json.data.error_msg)).toEqual(['0', '1']);
  });

  it('checks uniqueness against existing data and within the batch, and counts duplicate attempts', async () => {
    const r = await create([sw(1), sw(1), { bk_inst_name: 'e', bk_asset_id: 'SW-EXIST-0007' }], 'bk_switch');
    expect(r.json.data.success_created).toEqual({ '0': 1026 });
    expect(r.json.data.error_msg['1']).toContain('[bk_asset_id: SW-NEW-1]');
    expect(codeOf(r.json.data.error_msg['2'])).toBe(1199014);
    expect(sim.counters().duplicateKeyAttempts).toBe(2);
    expect(sim.store.instances('bk_switch').filter((x) => x.bk_asset_id === 'SW-NEW-1')).toHaveLength(1);
  });

  it('uses the seed message in English', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details: [{ bk_inst_name: 'a', bk_asset_id: 'SW-EXIST-0001' }] }, { lang: 'en' });
    expect(r.json.data.error_msg['0']).toBe('[1199014] Data uniqueness check failed, [bk_asset_id: SW-EXIST-0001] duplicated');
  });

  it('a non-required unique field (bk_firewall.bk_sn) is unique only when present', async () => {
    const r = await create([
      { bk_inst_name: 'f1', bk_asset_id: 'FW-1' }, { bk_inst_name: 'f2', bk_asset_id: 'FW-2' },
      { bk_inst_name: 'f3', bk_asset_id: 'FW-3', bk_sn: 'SN-FW-0001' },
    ], 'bk_firewall');
    expect(Object.keys(r.json.data.success_created)).toEqual(['0', '1']);
    expect(codeOf(r.json.data.error_msg['2'])).toBe(1199014);
  });

  it('is strict about JSON types: int "5", bool "true" and an enum name are rejected; an enum id is accepted', async () => {
    const r = await create([
      sw(1, { port_count: '5' }), sw(2, { is_managed: 'true' }), sw(3, { vendor: 'Cisco' }), sw(4, { vendor: 'cisco', port_count: 5, is_managed: true }),
      sw(5, { port_count: 2000 }), sw(6, { bought_on: '2024/01/02' }), sw(7, { tags: ['core', 'nope'] }), sw(8, { bk_sn: 12 }),
    ]);
    const e = r.json.data.error_msg;
    expect(codeOf(e['0'])).toBe(1199009);
    expect(e['0']).toContain('port_count');
    expect(codeOf(e['1'])).toBe(1199025);
    expect(e['1']).toContain('is_managed');
    expect(codeOf(e['2'])).toBe(1199011);
    expect(e['2']).toContain('vendor');
    expect(r.json.data.success_created).toEqual({ '3': 1026 });
    for (const k of ['4', '5', '6', '7']) expect(codeOf(e[k])).toBe(1199011);
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
    for (const k of ['0', '1', '2']) {
      expect(codeOf(r.json.data.error_msg[k])).toBe(1199010);
      expect(r.json.data.error_msg[k]).toContain('bk_inst_name');
    }
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
    expect(byId.bk_asset_id).toMatchObject({ isrequired: true, isonly: true });
    const host = await esb(sim, 'search_object_attribute', { bk_obj_id: 'host' });
    expect(host.json.data.find((a: { bk_property_id: string }) => a.bk_property_id === 'bk_host_innerip').isonly).toBe(true);
  });

  it('search_object_instances filters, limits fields and pages; host rows carry bk_host_id', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', {
      fields: ['bk_asset_id'],
      conditions: { condition: 'OR', rules: [{ field: 'bk_asset_id', operator: 'in', value: ['SW-EXIST-0002', 'SW-EXIST-0005'] }, { field: 'bk_inst_id', operator: 'equal', value: 1010 }] },
      page: { start: 0, limit: 2, sort: '-bk_inst_id' },
    });
    expect(r.json.data).toEqual({ count: 3, info: [{ bk_inst_id: 1010, bk_asset_id: 'SW-EXIST-0010' }, { bk_inst_id: 1005, bk_asset_id: 'SW-EXIST-0005' }] });
    const h = await esb(sim, 'search_object_instances', { bk_obj_id: 'host', fields: ['bk_host_innerip'], conditions: { condition: 'AND', rules: [{ field: 'bk_host_innerip', operator: 'equal', value: '10.0.0.7' }] }, page: { start: 0, limit: 10 } });
    expect(h.json.data.info).toEqual([{ bk_host_id: 7, bk_host_innerip: '10.0.0.7' }]);
  });

  it('filter-level errors use bk_error_code / bk_error_msg on apigw and code / message on ESB', async () => {
    const body = { conditions: { condition: 'AND', rules: [{ field: 'x', operator: 'regex_like', value: 1 }] }, page: { start: 0, limit: 10 } };
    const gw = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', body);
    expect(gw.json).toMatchObject({ result: false, bk_error_code: 1199006 });
    expect(gw.json).not.toHaveProperty('code');
    const big = await apigw(sim, 'POST', '/api/v3/search/instances/object/bk_switch', { page: { start: 0, limit: 501 } });
    expect(big.json).toMatchObject({ result: false, bk_error_code: 1199035 });
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
