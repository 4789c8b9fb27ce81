import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, call, codeOf, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false, credentials: { bkAppSecret: 'top-secret-value' } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const assoc = (kind: string, obj: string, asstObj: string, details: unknown[]) =>
  apigw(sim, 'POST', '/api/v3/createmany/instassociation', { bk_obj_id: obj, bk_asst_obj_id: asstObj, bk_obj_asst_id: kind, details });

describe('batch_create_instance_association', () => {
  it('creates n:n links with ids from the association sequence, per row', async () => {
    const r = await assoc('bk_switch_connect_host', 'bk_switch', 'host', [
      { bk_inst_id: 1003, bk_asst_inst_id: 10 }, { bk_inst_id: 1003, bk_asst_inst_id: 11 }, { bk_inst_id: 1001, bk_asst_inst_id: 1 },
      { bk_inst_id: 5555, bk_asst_inst_id: 12 }, { bk_inst_id: 1003, bk_asst_inst_id: 999 },
    ]);
    expect(r.json).toMatchObject({ result: true, code: 0 });
    expect(r.json.data.success_created).toEqual({ '0': 7, '1': 8 });
    const e = r.json.data.error_msg;
    expect([codeOf(e['2']), codeOf(e['3']), codeOf(e['4'])]).toEqual([1101038, 1101073, 1101074]);
    expect(sim.counters().duplicateKeyAttempts).toBe(1);
    expect(sim.store.associations('bk_switch_connect_host')).toHaveLength(5);
  });

  it('refuses 201 details (1199035), an empty list (1199038) and ids <= 0 (1199045)', async () => {
    const many = Array.from({ length: 201 }, (_, i) => ({ bk_inst_id: 1003, bk_asst_inst_id: (i % 200) + 1 }));
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'host', many)).json.code).toBe(1199035);
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'host', [])).json.code).toBe(1199038);
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'host', [{ bk_inst_id: 1003, bk_asst_inst_id: 0 }])).json.code).toBe(1199045);
    expect(sim.store.associations()).toHaveLength(6);
  });

  it('enforces the prefix rule (1199006) and an unknown kind (1101046)', async () => {
    const d = [{ bk_inst_id: 1003, bk_asst_inst_id: 10 }];
    expect((await assoc('bk_switch_connect_host', 'host', 'bk_switch', d)).json.code).toBe(1199006);
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'bk_firewall', d)).json.code).toBe(1199006);
    expect((await assoc('bk_switch_run_host', 'bk_switch', 'host', d)).json.code).toBe(1101046);
  });

  it('enforces 1:1 (1101052) and 1:n (1101061), also within one batch', async () => {
    const one = await assoc('bk_firewall_connect_bk_switch', 'bk_firewall', 'bk_switch', [
      { bk_inst_id: 1021, bk_asst_inst_id: 1001 }, // 1021 already connects 1020
      { bk_inst_id: 1023, bk_asst_inst_id: 1020 }, // 1020 already connected
      { bk_inst_id: 1023, bk_asst_inst_id: 1002 }, // ok
      { bk_inst_id: 1023, bk_asst_inst_id: 1003 }, // 1023 now taken by the row above
    ]);
    expect(one.json.data.success_created).toEqual({ '2': 7 });
    expect(['0', '1', '3'].map((k) => codeOf(one.json.data.error_msg[k]))).toEqual([1101052, 1101052, 1101052]);
    const many = await assoc('bk_firewall_contain_bk_switch', 'bk_firewall', 'bk_switch', [
      { bk_inst_id: 1022, bk_asst_inst_id: 1001 }, { bk_inst_id: 1022, bk_asst_inst_id: 1002 }, // one source, many targets: fine
      { bk_inst_id: 1023, bk_asst_inst_id: 1018 }, // 1018 already in 1022
      { bk_inst_id: 1024, bk_asst_inst_id: 1001 }, // 1001 just went into 1022
    ]);
    expect(Object.keys(many.json.data.success_created)).toEqual(['0', '1']);
    expect(codeOf(many.json.data.error_msg['2'])).toBe(1101061);
    expect(codeOf(many.json.data.error_msg['3'])).toBe(1101061);
  });

  it('find_instance_association matches numbers and {"$in": [...]}', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/find/instassociation', { bk_obj_id: 'bk_switch', condition: { bk_obj_asst_id: 'bk_switch_connect_host', bk_inst_id: { $in: [1001, 1002] } } });
    expect(r.json.data.map((a: { bk_asst_inst_id: number }) => a.bk_asst_inst_id)).toEqual([1, 2, 3]);
    const one = await esb(sim, 'find_instance_association', { bk_obj_id: 'bk_switch', condition: { bk_obj_asst_id: 'bk_switch_connect_host', bk_asst_inst_id: 3 } });
    expect(one.json.data).toEqual([{ id: 3, bk_obj_asst_id: 'bk_switch_connect_host', bk_asst_id: 'connect', bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', bk_inst_id: 1002, bk_asst_inst_id: 3 }]);
  });
});

describe('authentication and permission', () => {
  const details = [{ bk_inst_name: 'a', bk_asset_id: 'A-1' }];

  it('apigw: wrong secret -> 401 1640101, no user -> 401 1640102; the secret is never echoed', async () => {
    const bad = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details }, { secret: 'wrong-secret' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ result: false, code: 1640101, message: 'app authentication failed', data: null });
    expect(bad.text).not.toContain('wrong-secret');
    expect(bad.text).not.toContain('top-secret-value');
    const noUser = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details }, { noUser: true });
    expect(noUser.status).toBe(401);
    expect(noUser.json.code).toBe(1640102);
    const missing = await call(`${sim.urls.apigw}/api/v3/find/objectattr`, 'POST', { bk_obj_id: 'bk_switch', bk_app_code: sim.credentials.bkAppCode, bk_app_secret: 'top-secret-value', bk_username: 'admin' });
    expect(missing.status).toBe(401); // body credentials are ignored on apigw
    expect(sim.store.instances('bk_switch')).toHaveLength(20);
  });

  it('ESB: wrong app -> HTTP 200 1306401, no user -> 1306402, bk_token counts as a user', async () => {
    const bad = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details }, { appCode: 'other' });
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ result: false, code: 1306401 });
    expect(bad.text).not.toContain('top-secret-value');
    const noUser = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details }, { noUser: true });
    expect(noUser.json.code).toBe(1306402);
    const token = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details, bk_token: 'abc' }, { noUser: true });
    expect(token.json.result).toBe(true);
  });

  it('a forbidden user gets 9900403 with a permission object on writes, and can still read', async () => {
    const r = await apigw(sim, 'PUT', '/api/v3/updatemany/instance/object/bk_switch', { update: [{ inst_id: 1001, datas: { remark: 'x' } }] }, { user: 'forbidden' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ result: false, code: 9900403, permission: { system_id: 'bk_cmdb', system_name: '配置平台' } });
    expect(r.json.permission.actions[0]).toMatchObject({ id: 'edit_model_instance' });
    expect(r.json.permission.actions[0].related_resource_types.length).toBeGreaterThan(0);
    const e = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details }, { user: 'forbidden' });
    expect(e.json.code).toBe(9900403);
    const read = await esb(sim, 'search_object_attribute', { bk_obj_id: 'bk_switch' }, { user: 'forbidden' });
    expect(read.json.result).toBe(true);
    expect(sim.store.instance('bk_switch', 1001)!.remark).toBeNull();
  });

  it('answers in Chinese by default and in English on request, on both doors', async () => {
    const zh = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details: [] });
    const en = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details: [] }, { lang: 'en' });
    expect(zh.json.code).toBe(1199038);
    expect(zh.json.message).toMatch(/[\u4e00-\u9fff]/);
    expect(en.json.message).not.toMatch(/[\u4e00-\u9fff]/);
    expect(en.json.message).toContain('details');
    const esbEn = await esb(sim, 'batch_update_inst', { bk_obj_id: 'bk_switch', update: [{ inst_id: 4242, datas: {} }] }, { lang: 'en' });
    expect(esbEn.json.message).toBe('instance not found');
  });

  it('sends X-Bkapi-Request-Id on apigw and request_id in the body', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/find/objectattr', { bk_obj_id: 'bk_switch' });
    expect(r.headers['x-bkapi-request-id']).toBe(r.json.request_id);
  });
});
