import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, call, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false, credentials: { bkAppSecret: 'top-secret-value' } });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const assoc = (kind: string, obj: string, asstObj: string, details: unknown[]) =>
  apigw(sim, 'POST', '/api/v3/createmany/instassociation', { bk_obj_id: obj, bk_asst_obj_id: asstObj, bk_obj_asst_id: kind, details }, { lang: 'en' });

describe('batch_create_instance_association', () => {
  it('creates n:n links with ids from the association sequence, per row', async () => {
    const r = await assoc('bk_firewall_contain_bk_switch', 'bk_firewall', 'bk_switch', [
      { bk_inst_id: 1023, bk_asst_inst_id: 1010 }, { bk_inst_id: 1023, bk_asst_inst_id: 1011 }, { bk_inst_id: 1022, bk_asst_inst_id: 1018 },
      { bk_inst_id: 5555, bk_asst_inst_id: 1012 }, { bk_inst_id: 1023, bk_asst_inst_id: 9999 },
    ]);
    expect(r.json).toMatchObject({ result: true, code: 0 });
    expect(r.json.data.success_created).toEqual({ '0': 7, '1': 8 });
    // Row errors are messages without a code (topo_server logics/inst/association.go).
    expect(r.json.data.error_msg).toEqual({
      '2': 'the associations bk_firewall->bk_switch already exist', '3': 'the association inst is not exist', '4': 'the  inst to asst  is not exist',
    });
    expect(sim.counters().duplicateKeyAttempts).toBe(1);
    expect(sim.store.associations('bk_firewall_contain_bk_switch')).toHaveLength(4);
  });

  it('with IAM on, one unknown host id refuses the whole batch with 1199045 naming that host (bk_error_code on apigw)', async () => {
    const r = await assoc('bk_switch_connect_host', 'bk_switch', 'host', [
      { bk_inst_id: 1003, bk_asst_inst_id: 10 }, { bk_inst_id: 1003, bk_asst_inst_id: 999 }, { bk_inst_id: 1003, bk_asst_inst_id: 998 },
    ]);
    expect(r.json).toMatchObject({ result: false, bk_error_code: 1199045, bk_error_msg: 'host 999 has no relations' });
    expect(sim.store.associations('bk_switch_connect_host')).toHaveLength(3);
    const e = await esb(sim, 'batch_create_instance_association', { bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', bk_obj_asst_id: 'bk_switch_connect_host', details: [{ bk_inst_id: 1003, bk_asst_inst_id: 999 }] });
    expect(e.json).toMatchObject({ result: false, code: 1199045, message: 'host 999 has no relations' });
    const off = await startSimulator({ iam: false });
    try {
      const o = await apigw(off, 'POST', '/api/v3/createmany/instassociation', { bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', bk_obj_asst_id: 'bk_switch_connect_host', details: [{ bk_inst_id: 1003, bk_asst_inst_id: 10 }, { bk_inst_id: 1003, bk_asst_inst_id: 999 }] }, { lang: 'en' });
      expect(o.json.data).toEqual({ success_created: { '0': 7 }, error_msg: { '1': 'the  inst to asst  is not exist' } });
    } finally {
      await off.close();
    }
  });

  it('refuses 201 details (1199035), an empty list (1199038) and ids <= 0 (1199045)', async () => {
    const many = Array.from({ length: 201 }, (_, i) => ({ bk_inst_id: 1003, bk_asst_inst_id: (i % 200) + 1 }));
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'host', many)).json.code).toBe(1199035);
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'host', [])).json.code).toBe(1199038);
    expect((await assoc('bk_switch_connect_host', 'bk_switch', 'host', [{ bk_inst_id: 1003, bk_asst_inst_id: 0 }])).json).toMatchObject({ bk_error_code: 1199045, bk_error_msg: 'invalid bk_asst_inst_id value' });
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
    for (const k of ['0', '1', '3']) expect(one.json.data.error_msg[k]).toBe('can not create multiple instance association for a 1:1 association.');
    const many = await assoc('bk_firewall_contain_bk_switch', 'bk_firewall', 'bk_switch', [
      { bk_inst_id: 1022, bk_asst_inst_id: 1001 }, { bk_inst_id: 1022, bk_asst_inst_id: 1002 }, // one source, many targets: fine
      { bk_inst_id: 1023, bk_asst_inst_id: 1018 }, // 1018 already in 1022
      { bk_inst_id: 1024, bk_asst_inst_id: 1001 }, // 1001 just went into 1022
    ]);
    expect(Object.keys(many.json.data.success_created)).toEqual(['0', '1']);
    for (const k of ['2', '3']) expect(many.json.data.error_msg[k]).toMatch(/^The relationship is 1:n/);
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

  it('apigw: wrong secret or no user -> 400 1640001 INVALID_ARGS with X-Bkapi-Error-* headers; the secret is never echoed', async () => {
    const bad = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details }, { secret: 'wrong-secret' });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ code: 1640001, code_name: 'INVALID_ARGS', message: 'Parameters error [reason="bk_app_code or bk_app_secret is incorrect"]', result: false, data: null });
    expect(bad.headers['x-bkapi-error-code']).toBe('1640001');
    expect(bad.headers['x-bkapi-error-message']).toBe(bad.json.message);
    expect(bad.text).not.toContain('wrong-secret');
    expect(bad.text).not.toContain('top-secret-value');
    const noUser = await apigw(sim, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details }, { noUser: true });
    expect(noUser.status).toBe(400);
    expect(noUser.json).toMatchObject({ code: 1640001, message: expect.stringMatching(/user authentication failed/) });
    const missing = await call(`${sim.urls.apigw}/api/v3/find/objectattr`, 'POST', { bk_obj_id: 'bk_switch', bk_app_code: sim.credentials.bkAppCode, bk_app_secret: 'top-secret-value', bk_username: 'admin' });
    expect(missing.status).toBe(400); // body credentials are ignored on apigw
    const unknown = await apigw(sim, 'POST', '/api/v3/no/such/resource', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ code: 1640401, code_name: 'API_NOT_FOUND', result: false });
    expect(sim.store.instances('bk_switch')).toHaveLength(20);
  });

  it('ESB: unknown app, wrong secret or no user -> HTTP 200 1306000 with the validator\'s words; bk_token counts as a user', async () => {
    const bad = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details }, { appCode: 'other' });
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ result: false, code: 1306000, message: expect.stringMatching(/^Invalid APP Code \[bk_app_code=other\]/) });
    const secret = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details }, { secret: 'wrong-secret' });
    expect(secret.json).toMatchObject({ result: false, code: 1306000, message: expect.stringMatching(/^APP Secret verification failed/) });
    expect(secret.text).not.toContain('top-secret-value');
    expect(secret.text).not.toContain('wrong-secret');
    const noUser = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details }, { noUser: true });
    expect(noUser.json).toMatchObject({ code: 1306000, message: expect.stringMatching(/^User authentication failed/) });
    const token = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details, bk_token: 'abc' }, { noUser: true });
    expect(token.json.result).toBe(true);
  });

  it('appDeniedOps: the gateway answers 403 / 1640301 APP_NO_PERMISSION, the ESB 200 / 1306403; other operations work', async () => {
    const s2 = await startSimulator({ appDeniedOps: ['batch_create_inst'] });
    try {
      const gw = await apigw(s2, 'POST', '/api/v3/createmany/instance/object/bk_switch', { details });
      expect(gw.status).toBe(403);
      expect(gw.json).toEqual({ code: 1640301, code_name: 'APP_NO_PERMISSION', message: 'App has no permission to the resource', result: false, data: null });
      const e = await esb(s2, 'batch_create_inst', { bk_obj_id: 'bk_switch', details });
      expect(e.json).toMatchObject({ result: false, code: 1306403, message: expect.stringMatching(/^APP permission is insufficient/) });
      expect((await esb(s2, 'search_object_attribute', { bk_obj_id: 'bk_switch' })).json.result).toBe(true);
      expect(s2.store.instances('bk_switch')).toHaveLength(20);
    } finally {
      await s2.close();
    }
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
    expect(esbEn.json.message).toBe('No relevant data found');
  });

  it('sends X-Bkapi-Request-Id on apigw and request_id in the body', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/find/objectattr', { bk_obj_id: 'bk_switch' });
    expect(r.headers['x-bkapi-request-id']).toBe(r.json.request_id);
  });
});
