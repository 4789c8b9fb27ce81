import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthError, CliError, EXIT } from '../../src/core/errors.js';
import { ManualClock } from '../support/manual-clock.js';
import { createHttpClient, type HttpRequest, type HttpResponse } from '../../src/http/client.js';
import { CMDB_OPS, CmdbApi, GATEWAY_ONLY_OPS, cmdbService, defaultGateway, toEnvelope, type CmdbOp, type Gateway } from '../../src/http/cmdb.js';
import { Throttle } from '../../src/http/limiter.js';
import { FrontDoorError } from '../../src/http/front.js';
import { ProtocolError } from '../../src/http/answer.js';
import { DEFAULT_RETRY_POLICY } from '../../src/http/retry.js';
import { AmbiguousWriteError, Sender } from '../../src/http/sender.js';

const SECRET = 'Sup3r-Secret-App-Key';
const TOKEN = 'bk-token-abcdef-987654';
const creds = { appCode: 'cmdb-bulk-app', appSecret: SECRET, username: 'admin' };

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
}

const agents: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

function connect(gateway: Gateway, base: string, reply: (s: Seen) => { status?: number; body?: unknown; headers?: Record<string, string> } = () => ({})) {
  const url = new URL(base);
  const agent = new MockAgent();
  agent.disableNetConnect();
  agents.push(agent);
  const seen: Seen[] = [];
  agent
    .get(url.origin)
    .intercept({ path: () => true, method: () => true })
    .reply((o) => {
      const s: Seen = { method: o.method, path: o.path, headers: o.headers as Record<string, string>, body: o.body ? JSON.parse(String(o.body)) : undefined };
      seen.push(s);
      const r = reply(s);
      return {
        statusCode: r.status ?? 200,
        data: typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? { result: true, code: 0, message: 'success', permission: null, request_id: 'rid-1', data: { ok: 1 } }),
        responseOptions: { headers: { 'content-type': 'application/json', ...r.headers } },
      };
    })
    .persist();
  const clock = new ManualClock(0, { auto: true });
  const sender = new Sender({
    client: createHttpClient({ baseUrl: base, dispatcher: agent }),
    service: cmdbService({ gateway, credentials: creds }),
    throttle: new Throttle({ windowsFor: () => [], clock }),
    policy: DEFAULT_RETRY_POLICY,
    clock,
  });
  return { api: new CmdbApi({ sender, gateway }), seen, sender };
}

const PARAMS: Record<CmdbOp, Record<string, unknown>> = {
  batch_create_inst: { bk_obj_id: 'bk_switch', details: [{ bk_inst_name: 'sw1' }] },
  batch_update_inst: { bk_obj_id: 'bk_switch', update: [{ inst_id: 1, datas: { bk_sn: 'x' } }] },
  update_process_instance: { bk_biz_id: 2, processes: [{ bk_process_id: 12, description: 'x' }] },
  batch_create_instance_association: { bk_obj_asst_id: 'bk_switch_connect_host', details: [{ bk_inst_id: 1, bk_asst_inst_id: 2 }] },
  batch_delete_inst: { bk_obj_id: 'bk_switch', delete: { inst_ids: [1, 2] } },
  search_object_attribute: { bk_obj_id: 'bk_switch' },
  search_object_instances: { bk_obj_id: 'bk_switch', conditions: { condition: 'AND', rules: [] }, page: { start: 0, limit: 10 } },
  find_object_association: { condition: { bk_obj_asst_id: 'bk_switch_connect_host' } },
  find_instance_association: { bk_obj_id: 'bk_switch', condition: { bk_obj_asst_id: 'bk_switch_connect_host' } },
  search_object_unique: { bk_obj_id: 'bk_switch' },
  list_hosts_without_biz: { fields: ['bk_host_id'], page: { start: 0, limit: 10 } },
  add_host_to_resource_pool: { host_info: [{ bk_host_innerip: '10.9.0.1', bk_cloud_id: 0 }] },
  list_process_related_info: { bk_biz_id: 2, page: { start: 0, limit: 10 } },
  get_proc_template: { process_template_id: 7 },
  search_instance_associations: { bk_obj_id: 'bk_switch', conditions: { condition: 'AND', rules: [] }, page: { start: 0, limit: 500, sort: 'id' } },
  count_object_instances: { bk_obj_id: 'bk_switch', conditions: { condition: 'AND', rules: [] } },
};

/** A successful answer's data for each operation, in the shape the real server gives. */
const DATA: Record<CmdbOp, unknown> = {
  batch_create_inst: { success_created: { '0': 7 }, error_msg: {} },
  batch_update_inst: null,
  update_process_instance: [12],
  batch_create_instance_association: { success_created: { '0': 3 }, error_msg: {} },
  batch_delete_inst: null,
  search_object_attribute: [{ bk_property_id: 'bk_inst_name', bk_property_type: 'singlechar', isrequired: true }],
  search_object_instances: { count: 1, info: [{ bk_inst_id: 1, bk_inst_name: 'sw1' }] },
  find_object_association: [{ bk_obj_asst_id: 'bk_switch_connect_host', bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', mapping: 'n:n' }],
  find_instance_association: [{ id: 5, bk_inst_id: 1, bk_asst_inst_id: 2 }],
  search_object_unique: [{ id: 1, bk_obj_id: 'bk_switch', keys: [{ key_kind: 'property', key_id: 3 }], ispre: false }],
  list_hosts_without_biz: { count: 1, info: [{ bk_host_id: 11, bk_host_innerip: '10.0.0.11' }] },
  add_host_to_resource_pool: { success: [{ index: 0, bk_host_id: 12 }] },
  list_process_related_info: { count: 1, info: [{ process: { bk_process_id: 12, bk_process_name: 'nginx' }, process_template: { id: 7 } }] },
  get_proc_template: { id: 7, bk_process_name: 'nginx', property: { bind_ip: { value: '', as_default_value: true } } },
  search_instance_associations: { info: [{ id: 5, bk_obj_asst_id: 'bk_switch_connect_host', bk_inst_id: 1, bk_asst_inst_id: 2 }] },
  count_object_instances: { count: 20 },
};

const success = (op: CmdbOp) => ({ body: { result: true, code: 0, message: 'success', permission: null, request_id: 'rid-1', data: DATA[op] } });

const APIGW: Record<CmdbOp, [string, string, string[]]> = {
  // method, path, keys that must be gone from the body (moved into the path)
  batch_create_inst: ['POST', '/api/v3/createmany/instance/object/bk_switch', ['bk_obj_id']],
  batch_update_inst: ['PUT', '/api/v3/updatemany/instance/object/bk_switch', ['bk_obj_id']],
  update_process_instance: ['PUT', '/api/v3/update/proc/process_instance', []],
  batch_create_instance_association: ['POST', '/api/v3/createmany/instassociation', []],
  batch_delete_inst: ['DELETE', '/api/v3/deletemany/instance/object/bk_switch', ['bk_obj_id']],
  search_object_attribute: ['POST', '/api/v3/find/objectattr', []],
  search_object_instances: ['POST', '/api/v3/search/instances/object/bk_switch', ['bk_obj_id']],
  find_object_association: ['POST', '/api/v3/find/objectassociation', []],
  find_instance_association: ['POST', '/api/v3/find/instassociation', []],
  search_object_unique: ['POST', '/api/v3/find/objectunique/object/bk_switch', ['bk_obj_id']],
  list_hosts_without_biz: ['POST', '/api/v3/hosts/list_hosts_without_app', []],
  add_host_to_resource_pool: ['POST', '/api/v3/hosts/add/resource', []],
  list_process_related_info: ['POST', '/api/v3/findmany/proc/process_related_info/biz/2', ['bk_biz_id']],
  get_proc_template: ['POST', '/api/v3/find/proc/proc_template/id/7', ['process_template_id']],
  search_instance_associations: ['POST', '/api/v3/search/instance_associations/object/bk_switch', ['bk_obj_id']],
  count_object_instances: ['POST', '/api/v3/count/instances/object/bk_switch', ['bk_obj_id']],
};

describe('defaultGateway', () => {
  it.each([
    ['https://bkapi.example.com/api/bk-cmdb/prod', 'apigw'],
    ['https://bkapi.example.com/api/bk-cmdb/prod/', 'apigw'],
    ['https://paas.example.com', 'esb'],
    ['http://127.0.0.1:8080/esb', 'esb'],
  ])('%s → %s', (url, gw) => expect(defaultGateway(url)).toBe(gw));
});

describe('CMDB requests', () => {
  it('ESB has no component for search_object_unique: building it is refused, nothing is sent', async () => {
    const { api, seen } = connect('esb', 'https://paas.example.com');
    await expect(api.call('search_object_unique', { bk_obj_id: 'bk_switch' }, { idempotent: true })).rejects.toThrow(/no ESB component/);
    expect(seen).toHaveLength(0);
  });

  it.each(CMDB_OPS.filter((op) => !GATEWAY_ONLY_OPS.has(op)))('ESB %s: POST /api/c/compapi/v2/cc/<op>/ with credentials and every param in the body', async (op) => {
    const { api, seen } = connect('esb', 'https://paas.example.com', () => success(op));
    const env = await api.call(op, PARAMS[op], { idempotent: true });
    expect(env.result).toBe(true);
    const s = seen[0]!;
    expect(s.method).toBe('POST');
    expect(s.path).toBe(`/api/c/compapi/v2/cc/${op}/`);
    expect(s.body).toEqual({ bk_app_code: 'cmdb-bulk-app', bk_app_secret: SECRET, bk_username: 'admin', ...PARAMS[op] });
    expect(s.headers['x-bkcmdb-language']).toBe('en');
    expect(s.headers['blueking-language']).toBe('en');
    expect(s.headers['content-type']).toBe('application/json');
    expect(s.headers['x-bkapi-authorization']).toBeUndefined();
  });

  it.each(CMDB_OPS)('apigw %s: method + path per operation, credentials only in the header', async (op) => {
    const { api, seen } = connect('apigw', 'https://bkapi.example.com/api/bk-cmdb/prod', () => success(op));
    await api.call(op, PARAMS[op], { idempotent: true });
    const s = seen[0]!;
    const [method, path, moved] = APIGW[op];
    expect(s.method).toBe(method);
    expect(s.path).toBe(`/api/bk-cmdb/prod${path}`);
    const expected = { ...PARAMS[op] };
    for (const k of moved) delete expected[k];
    expect(s.body).toEqual(expected);
    expect(JSON.stringify(s.body)).not.toContain(SECRET);
    expect(JSON.parse(s.headers['x-bkapi-authorization']!)).toEqual({ bk_app_code: 'cmdb-bulk-app', bk_app_secret: SECRET, bk_username: 'admin' });
    expect(s.headers['x-bkcmdb-language']).toBe('en');
    expect(s.headers['blueking-language']).toBe('en');
  });

  it('apigw URL-encodes bk_obj_id in the path and requires it', async () => {
    const { api, seen } = connect('apigw', 'https://bkapi.example.com/api/bk-cmdb/prod');
    await api.call('batch_create_inst', { bk_obj_id: 'a b/c', details: [] }, { idempotent: false });
    expect(seen[0]!.path).toBe('/api/bk-cmdb/prod/api/v3/createmany/instance/object/a%20b%2Fc');
    expect(() => api.request('batch_update_inst', { update: [] })).toThrow(/bk_obj_id/);
  });

  it('sends bk_token when that is the credential', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    agents.push(agent);
    const service = cmdbService({ gateway: 'apigw', credentials: { appCode: 'a', appSecret: SECRET, token: TOKEN } });
    const authed = await service.authorize({ op: 'x', method: 'POST', path: '/', body: {} });
    expect(JSON.parse(authed.headers!['X-Bkapi-Authorization']!)).toEqual({ bk_app_code: 'a', bk_app_secret: SECRET, bk_token: TOKEN });
    expect(service.secrets()).toEqual([SECRET, TOKEN]);
  });

  it('returns business errors (result:false) instead of throwing', async () => {
    const { api } = connect('esb', 'https://paas.example.com', () => ({
      body: { result: false, code: 1199014, message: 'duplicated instances exist, fields [bk_asset_id] duplicated', data: null },
    }));
    const env = await api.call('batch_update_inst', PARAMS.batch_update_inst, { idempotent: true });
    expect(env).toMatchObject({ result: false, code: 1199014, status: 200 });
  });
});

describe('answers are read with each operation\'s schema, once per request', () => {
  it('a look-up whose data does not fit is one ProtocolError naming the place (exit 5)', async () => {
    const { api } = connect('esb', 'https://paas.example.com', () => ({ body: { result: true, code: 0, message: 'success', data: { info: 'not a list' } } }));
    const err = await api.call('search_object_instances', PARAMS.search_object_instances, { idempotent: true }).catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.exitCode).toBe(EXIT.UNREACHABLE);
    expect(err.message).toMatch(/search_object_instances: the answer does not have the documented shape \(data\.info: /);
  });

  it('a write whose answer does not fit may have been applied: an AmbiguousWriteError carrying the ProtocolError', async () => {
    const { api, seen } = connect('esb', 'https://paas.example.com', () => ({ body: { result: true, code: 0, message: 'success', data: { success_created: ['7'] } } }));
    const err = await api.call('batch_create_inst', PARAMS.batch_create_inst, { idempotent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AmbiguousWriteError);
    expect(err.cause).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/data\.success_created: .*may have been applied/);
    expect(seen).toHaveLength(1);
  });

  it('a failed answer is returned with its code, its data not read', async () => {
    const { api } = connect('esb', 'https://paas.example.com', () => ({ body: { result: false, code: 1101030, message: 'model not found', data: 'anything' } }));
    expect(await api.call('search_object_attribute', PARAMS.search_object_attribute, { idempotent: true })).toMatchObject({ result: false, code: 1101030, data: null });
  });

  it('null maps in a create answer read as empty', async () => {
    const { api } = connect('esb', 'https://paas.example.com', () => ({ body: { result: true, code: 0, message: 'success', data: { success_created: { '0': 9 }, error_msg: null } } }));
    const env = await api.call('batch_create_inst', PARAMS.batch_create_inst, { idempotent: false });
    expect(env.result && env.data).toEqual({ success_created: { '0': 9 }, error_msg: {} });
  });
});

describe('envelope', () => {
  const res = (body: unknown, status = 200, headers: Record<string, string> = {}): HttpResponse => ({
    status,
    url: 'https://paas.example.com/api/c/compapi/v2/cc/batch_create_inst/',
    sentBytes: 0,
    headers,
    body,
    text: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('normalises bk_error_code / bk_error_msg and takes the request id from the header', () => {
    const env = toEnvelope(res({ result: false, bk_error_code: 1199006, bk_error_msg: 'bad id', data: null }, 200, { 'x-bkapi-request-id': 'req-9' }));
    expect(env).toEqual({ result: false, code: 1199006, message: 'bad id', permission: null, requestId: 'req-9', data: null, status: 200 });
  });

  it('keeps code / message / request_id / data as given', () => {
    const env = toEnvelope(res({ result: true, code: 0, message: 'success', request_id: 'r1', data: { success_created: { '0': 7 } } }));
    expect(env).toMatchObject({ result: true, code: 0, message: 'success', requestId: 'r1', data: { success_created: { '0': 7 } } });
  });

  it('a failed envelope carries no data', () => {
    expect(toEnvelope(res({ result: false, code: 1199006, message: 'bad', data: { anything: 1 } }, 400))).toMatchObject({ result: false, code: 1199006, status: 400, data: null });
  });
});

describe('cmdbService.classify', () => {
  const service = cmdbService({ gateway: 'apigw', credentials: creds });
  const req: HttpRequest = { op: 'batch_update_inst', method: 'PUT', path: '/api/v3/updatemany/instance/object/bk_switch' };
  const classify = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    service.classify(
      { status, url: `https://bkapi.example.com/api/bk-cmdb/prod${req.path}`, sentBytes: 0, headers, body: typeof body === 'string' ? undefined : body, text: typeof body === 'string' ? body : JSON.stringify(body) },
      req,
    );

  it.each([
    [429, { result: false, code: 1642903, message: 'rate limited' }, { 'x-bkapi-ratelimit-reset': '0.25' }, 250],
    [429, 'Too Many Requests', {}, undefined],
    [200, { result: false, code: 1642901, message: 'x' }, {}, undefined],
    [200, { result: false, code: 1642904, message: 'x' }, { 'x-bkapi-ratelimit-reset': '3' }, 3000],
    [200, { result: false, code: 1306429, message: 'Access frequency limit' }, {}, undefined],
    [200, { result: false, code: 1199997, message: 'too many requests' }, {}, undefined],
  ])('HTTP %s %j → rate-limited', (status, body, headers, waitMs) => {
    const v = classify(status, body, headers);
    expect(v.kind).toBe('rate-limited');
    expect(v.kind === 'rate-limited' && v.waitMs).toBe(waitMs);
  });

  it.each([
    [500, { result: false, code: 1199999, message: 'internal' }],
    [502, 'Bad Gateway'],
    [503, 'Service Unavailable'],
    [504, { result: false, code: 1650401, message: 'backend timeout' }],
    [200, { result: false, code: 1650401, message: 'backend timeout' }],
    [200, '{"result":true,"code":0,"data":{"success_cr'],
    [200, { result: false, code: 1306201, message: 'Request third-party interface error, Third-party system interface response time exceeds 30 seconds', data: null }],
  ])('HTTP %s %j → transient', (status, body) => {
    expect(classify(status, body).kind).toBe('transient');
  });

  it.each([
    [200, { result: false, code: 1199014, message: 'duplicated' }],
    [200, { result: true, code: 0, message: 'success', data: null }],
    [200, { result: true, code: 0, data: { success_created: {}, error_msg: { '0': 'x' } } }],
    [400, { result: false, code: 1199006, message: 'bad param' }],
    [200, { result: false, bk_error_code: 1199019, bk_error_msg: 'no such instance' }],
  ])('HTTP %s %j → ok (the operation reads it)', (status, body) => {
    expect(classify(status, body).kind).toBe('ok');
  });

  it.each([
    [401, { result: false, code: 1640101, message: `app authentication failed for secret ${SECRET}` }, /BK_APP_CODE \/ BK_APP_SECRET/],
    [200, { result: false, code: 1306401, message: 'app code or secret invalid' }, /BK_APP_CODE \/ BK_APP_SECRET/],
    [200, { result: false, code: 1640102, message: 'user authentication failed' }, /BK_USERNAME \/ BK_TOKEN/],
    [200, { result: false, code: 1306402, message: 'user not login' }, /BK_USERNAME \/ BK_TOKEN/],
    [403, 'Forbidden', /BK_APP_CODE/],
    [200, { result: false, code: 1306000, message: 'APP Secret verification failed, pelase confirm if the APP Secret and APP Code [bk_app_code=a] match' }, /check BK_APP_CODE \/ BK_APP_SECRET$/],
    [200, { result: false, code: 1306000, message: 'Invalid APP Code [bk_app_code=a], please confirm if the APP Code has been registered' }, /check BK_APP_CODE$/],
    [200, { result: false, code: 1306000, message: 'User authentication failed, please provide a valid user identity, such as bk_token, bk_username' }, /check BK_USERNAME \/ BK_TOKEN$/],
    [400, { code: 1640001, code_name: 'INVALID_ARGS', message: 'Parameters error [reason="bk_app_code or bk_app_secret is incorrect"]', result: false, data: null }, /check BK_APP_CODE \/ BK_APP_SECRET$/],
    [400, { code: 1640001, code_name: 'INVALID_ARGS', message: 'Parameters error [reason="user authentication failed, please provide a valid user identity, such as bk_username, bk_token, access_token"]', result: false, data: null }, /check BK_USERNAME \/ BK_TOKEN$/],
  ])('HTTP %s %j → fatal AuthError naming the settings, never the secret', (status, body, settings) => {
    const v = classify(status, body);
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error).toBeInstanceOf(AuthError);
    expect(v.error.exitCode).toBe(EXIT.AUTH);
    expect(v.error.message).toMatch(settings);
    expect(v.error.message).not.toContain(SECRET);
  });

  it('1306000 that is not about the app or the user: exit 4 without pointing at the credentials', () => {
    const v = classify(200, { result: false, code: 1306000, message: 'System error, Component error, please contact the component developer to handle it.' });
    expect(v.kind === 'fatal' && v.error.exitCode).toBe(EXIT.AUTH);
    expect(v.kind === 'fatal' && v.error.message).toMatch(/^the ESB refused the request before it reached CMDB \(HTTP 200, code 1306000: System error/);
    expect(v.kind === 'fatal' && v.error.message).not.toMatch(/credentials|BK_APP/);
  });

  it.each([
    [403, { code: 1640301, code_name: 'APP_NO_PERMISSION', message: 'App has no permission to the resource', result: false, data: null }],
    [200, { result: false, code: 1306403, message: 'APP permission is insufficient' }],
  ])('HTTP %s %j → fatal AuthError about the app\'s API permission, not the secret', (status, body) => {
    const v = classify(status, body);
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error.exitCode).toBe(EXIT.AUTH);
    expect(v.error.message).toMatch(/does not let app "cmdb-bulk-app" call/);
    expect(v.error.message).not.toMatch(/BK_APP_SECRET|credentials/);
    expect(v.error.hint).toMatch(/grant app "cmdb-bulk-app" permission/);
  });

  it('9900403 → permission denied listing the missing actions, resource types and user', () => {
    const permission = {
      system_id: 'bk_cmdb',
      system_name: '配置平台',
      actions: [
        { id: 'edit_model_instance', name: 'Edit instance', related_resource_types: [{ system_id: 'bk_cmdb', type: 'model_instance', type_name: 'Model instance', instances: [] }] },
        { id: 'create_model_instance', name: 'Create instance', related_resource_types: [{ type: 'sys_model', type_name: 'Model' }] },
      ],
    };
    const v = classify(200, { result: false, code: 9900403, message: 'no permission', permission });
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error).toBeInstanceOf(AuthError);
    expect(v.error.message).toContain('permission denied');
    expect(v.error.message).toContain('user "admin"');
    expect(v.error.message).toContain('Edit instance (edit_model_instance) on Model instance');
    expect(v.error.message).toContain('Create instance (create_model_instance) on Model');
  });

  it('a non-JSON 404 is a configuration error naming CMDB_URL and the gateway', () => {
    const v = classify(404, '<html>Not Found</html>');
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error).toBeInstanceOf(CliError);
    expect(v.error.exitCode).toBe(EXIT.AUTH);
    expect(`${v.error.message} ${v.error.hint}`).toMatch(/CMDB_URL/);
    expect(`${v.error.message} ${v.error.hint}`).toMatch(/CMDB_GATEWAY/);
  });

  it('a web page is a front-door problem: fatal, its title quoted with secrets masked', () => {
    const v = classify(200, `<html><head><title>Sign in (debug: bk_app_secret=${SECRET})</title></head></html>`);
    expect(v.kind).toBe('fatal');
    if (v.kind !== 'fatal') return;
    expect(v.error).toBeInstanceOf(FrontDoorError);
    expect(JSON.stringify(v.error.message)).not.toContain(SECRET);
    expect(v.error.message).toContain('a web page titled "Sign in (debug: bk_app_secret=***');
    expect(v.error.hint).toMatch(/login page/);
  });
});

describe('CMDB auth errors end to end', () => {
  it('an ESB auth failure stops the run with exit 4 and no secret in the message', async () => {
    const { api, seen } = connect('esb', 'https://paas.example.com', () => ({
      body: { result: false, code: 1306401, message: `bk_app_secret ${SECRET} is wrong`, data: null },
    }));
    const err = await api.call('batch_create_inst', PARAMS.batch_create_inst, { idempotent: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).toMatch(/BK_APP_SECRET/);
    expect(seen.length).toBe(1);
  });

  it('apigw 429 then success: the create is re-sent (429 is never applied)', async () => {
    let n = 0;
    const { api, seen, sender } = connect('apigw', 'https://bkapi.example.com/api/bk-cmdb/prod', () =>
      n++ === 0 ? { status: 429, body: { result: false, code: 1642903, message: 'rate limit' }, headers: { 'x-bkapi-ratelimit-reset': '1' } } : {},
    );
    const env = await api.call('batch_create_inst', PARAMS.batch_create_inst, { idempotent: false });
    expect(env.result).toBe(true);
    expect(seen.length).toBe(2);
    expect(sender.stats.rateLimitWaitMs).toBe(1000);
  });
});
