import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const update = (items: unknown[], obj = 'bk_switch', lang?: 'en') =>
  apigw(sim, 'PUT', `/api/v3/updatemany/instance/object/${obj}`, { update: items }, { lang });
const procs = (bizId: number, processes: unknown[]) =>
  apigw(sim, 'PUT', '/api/v3/update/proc/process_instance', { bk_biz_id: bizId, processes }, { lang: 'en' });

describe('batch_update_inst', () => {
  it('applies every item on success (apigw data null, ESB data "success")', async () => {
    const r = await update([{ inst_id: 1001, datas: { port_count: 24 } }, { inst_id: 1002, datas: { vendor: 'h3c' } }]);
    expect(r.json).toMatchObject({ result: true, code: 0, data: null });
    expect(sim.store.instance('bk_switch', 1001)!.port_count).toBe(24);
    expect(sim.store.instance('bk_switch', 1002)!.vendor).toBe('h3c');
    const e = await esb(sim, 'batch_update_inst', { bk_obj_id: 'bk_switch', update: [{ inst_id: 1003, datas: { remark: 'hi' } }] });
    expect(e.json).toMatchObject({ result: true, data: 'success' });
    expect(sim.counters().rowsApplied.batch_update_inst).toBe(3);
  });

  it('is all or nothing: one unknown id rolls back the batch and the message does not name the item', async () => {
    const before = sim.store.instances('bk_switch');
    const r = await update([{ inst_id: 1001, datas: { port_count: 24 } }, { inst_id: 999_999, datas: { port_count: 1 } }, { inst_id: 1002, datas: { remark: 'x' } }], 'bk_switch', 'en');
    expect(r.json).toMatchObject({ result: false, code: 1199019, message: 'No relevant data found', data: null });
    expect(r.json.message).not.toContain('999999');
    expect(sim.store.instances('bk_switch')).toEqual(before);
  });

  it('rejects inst_id 0 (1199006) and type errors (1199009 / 1199025 / 1199006) for the whole batch', async () => {
    const ok = { inst_id: 1001, datas: { remark: 'x' } };
    expect((await update([ok, { inst_id: 0, datas: {} }])).json.code).toBe(1199006);
    expect((await update([ok, { inst_id: 1002, datas: { port_count: '8' } }])).json.code).toBe(1199009);
    expect((await update([ok, { inst_id: 1002, datas: { is_managed: 'false' } }])).json.code).toBe(1199025);
    expect((await update([ok, { inst_id: 1002, datas: { vendor: 'Huawei' } }])).json.code).toBe(1199006);
    expect(sim.store.instance('bk_switch', 1001)!.remark).toBeNull();
  });

  it('rejects duplicate unique values against others and within the batch (1199014)', async () => {
    const a = await update([{ inst_id: 1001, datas: { bk_asset_id: 'SW-EXIST-0002' } }]);
    expect(a.json.code).toBe(1199014);
    const b = await update([{ inst_id: 1001, datas: { bk_asset_id: 'SAME' } }, { inst_id: 1002, datas: { bk_asset_id: 'SAME' } }]);
    expect(b.json.code).toBe(1199014);
    expect(sim.store.instance('bk_switch', 1001)!.bk_asset_id).toBe('SW-EXIST-0001');
    // Swapping is fine when the end state is unique; keeping one's own value is fine too.
    const c = await update([{ inst_id: 1001, datas: { bk_asset_id: 'SW-EXIST-0001', remark: 'same' } }]);
    expect(c.json.result).toBe(true);
    expect(sim.counters().duplicateKeyAttempts).toBe(2);
  });

  it('checks later items against the values earlier items leave behind', async () => {
    const r = await update([
      { inst_id: 1001, datas: { bk_asset_id: 'MOVED' } },
      { inst_id: 1002, datas: { bk_asset_id: 'SW-EXIST-0001' } }, // freed by the item above
    ]);
    expect(r.json.result).toBe(true);
    expect(sim.store.instance('bk_switch', 1002)!.bk_asset_id).toBe('SW-EXIST-0001');
    const back = await update([{ inst_id: 1003, datas: { bk_asset_id: 'MOVED' } }]);
    expect(back.json.code).toBe(1199014);
  });

  it('refuses to empty a required field; drops unknown and non-editable fields silently', async () => {
    expect((await update([{ inst_id: 1001, datas: { bk_inst_name: '' } }])).json.code).toBe(1199010);
    expect((await update([{ inst_id: 1001, datas: { bk_inst_name: null } }])).json.code).toBe(1199010);
    const r = await update([{ inst_id: 1021, datas: { online_at: '2030-01-01 00:00:00', nope: 1, zone: 'edge' } }], 'bk_firewall');
    expect(r.json.result).toBe(true);
    const fw = sim.store.instance('bk_firewall', 1021)!;
    expect(fw).toMatchObject({ online_at: '2023-03-01 10:00:00', zone: 'edge' });
    expect(fw).not.toHaveProperty('nope');
  });

  it('allows host but no other built-in model (1199084)', async () => {
    const r = await update([{ inst_id: 5, datas: { bk_host_name: 'renamed' } }], 'host');
    expect(r.json.result).toBe(true);
    expect(sim.store.instance('host', 5)!.bk_host_name).toBe('renamed');
    expect((await update([{ inst_id: 1, datas: {} }], 'biz')).json.code).toBe(1199084);
  });
});

describe('batch_delete_inst', () => {
  it('deletes all or nothing and refuses instances with associations (1101075)', async () => {
    const r = await apigw(sim, 'DELETE', '/api/v3/deletemany/instance/object/bk_switch', { delete: { inst_ids: [1005, 1001] } });
    expect(r.json.code).toBe(1101075);
    expect(sim.store.instance('bk_switch', 1005)).toBeDefined();
    const ok = await apigw(sim, 'DELETE', '/api/v3/deletemany/instance/object/bk_switch', { delete: { inst_ids: [1005, 1006] } });
    expect(ok.json.result).toBe(true);
    expect(sim.store.instances('bk_switch')).toHaveLength(18);
  });
});

describe('update_process_instance', () => {
  it('rebuilds a process without a template from the whole struct: fields not sent become null', async () => {
    const r = await procs(2, [{ bk_process_id: 1001, bk_process_name: 'web', proc_num: 4, auto_start: true, bind_info: [] }]);
    expect(r.json).toMatchObject({ result: true, code: 0, data: [1001] });
    const p = sim.store.process(1001)!;
    expect(p).toMatchObject({ bk_process_id: 1001, bk_biz_id: 2, bk_process_name: 'web', proc_num: 4, auto_start: true, bind_info: [] });
    for (const f of ['user', 'start_cmd', 'work_path', 'timeout', 'priority', 'description', 'bk_func_name']) expect(p[f]).toBeNull();
  });

  it('requires bk_process_name (1199010) for a process without a template, for the whole batch', async () => {
    const r = await procs(2, [{ bk_process_id: 1002, bk_process_name: 'ok', user: 'app' }, { bk_process_id: 1003, user: 'app' }]);
    expect(r.json).toMatchObject({ result: false, code: 1199010, message: "'bk_process_name' unassigned" });
    expect(sim.store.process(1002)!.user).toBe('root');
  });

  it('ignores fields outside the Process struct (auto_time_gap, process_template_id, bk_func_id, process_info, typos)', async () => {
    const before = sim.store.process(1004)!;
    const r = await procs(2, [{ ...before, auto_time_gap: 'x', process_template_id: 'y', bk_func_id: 5, process_info: 1, colour: 'red' }]);
    expect(r.json.result).toBe(true);
    expect(sim.store.process(1004)).toEqual(before);
  });

  it('a process from a template: only the fields sent change, and the fields the template locks are ignored', async () => {
    const before = sim.store.process(1495)!;
    const r = await procs(2, [{ bk_process_id: 1495, user: 'app', start_cmd: './other.sh', description: 'web tier' }]);
    expect(r.json.result).toBe(true);
    expect(sim.store.process(1495)).toEqual({ ...before, description: 'web tier' });
    const t = await esb(sim, 'get_proc_template', { process_template_id: 7 });
    expect(t.json.data).toMatchObject({ id: 7, bk_process_name: 'nginx', property: { user: { as_default_value: true }, description: { as_default_value: false } } });
  });

  it('list_process_related_info answers each process with its template id (0: none), on both doors', async () => {
    const body = { process_property_filter: { condition: 'AND', rules: [{ field: 'bk_process_id', operator: 'in', value: [1001, 1495, 2001] }] }, page: { start: 0, limit: 500 } };
    const e = await esb(sim, 'list_process_related_info', { bk_biz_id: 2, ...body });
    expect(e.json.data.count).toBe(2);
    expect(e.json.data.info.map((x: { process_template: { id: number }; process: { bk_process_id: number } }) => [x.process.bk_process_id, x.process_template.id])).toEqual([[1001, 0], [1495, 7]]);
    expect(e.json.data.info[0].process).toEqual(sim.store.process(1001));
    const g = await apigw(sim, 'POST', '/api/v3/findmany/proc/process_related_info/biz/2', body);
    expect(g.json.data).toEqual(e.json.data);
  });

  it('refuses 101 processes with 1199035 and answers [] for an empty list', async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ bk_process_id: 1001 + i, bk_process_name: 'p', proc_num: 2 }));
    expect((await procs(2, many)).json).toMatchObject({ result: false, code: 1199035 });
    expect(sim.store.process(1001)!.proc_num).toBe(1);
    expect((await procs(2, [])).json).toMatchObject({ result: true, data: [] });
  });

  it('is all or nothing and names every missing id, including ids of another business', async () => {
    const r = await procs(2, [{ bk_process_id: 1001, proc_num: 9 }, { bk_process_id: 12, proc_num: 1 }, { bk_process_id: 2003 }, { bk_process_id: 34 }]);
    expect(r.json).toMatchObject({ result: false, code: 1199011 });
    expect(r.json.message).toBe("'[bk_process_id: 12,2003,34]' the parameter is invalid or does not exist");
    expect(sim.store.process(1001)!.proc_num).toBe(1);
  });

  it('rejects a wrong JSON type with 1199000 and id 0 with 1199006, changing nothing', async () => {
    const a = await procs(2, [{ bk_process_id: 1001, proc_num: 3 }, { bk_process_id: 1002, auto_start: 'true' }]);
    expect(a.json.code).toBe(1199000);
    const b = await procs(2, [{ bk_process_id: 1001, timeout: '30' }]);
    expect(b.json.code).toBe(1199000);
    const c = await procs(2, [{ bk_process_id: 1001, proc_num: 3 }, { bk_process_id: 0 }]);
    expect(c.json.code).toBe(1199006);
    expect(sim.store.process(1001)!.proc_num).toBe(1);
  });
});
