/**
 * BlueKing CMDB through either front door (api-notes §1):
 * - ESB:   POST {base}/api/c/compapi/v2/cc/{op}/ with credentials and every parameter in the JSON body;
 * - apigw: method + path per operation, bk_obj_id in the path, credentials in X-Bkapi-Authorization.
 * The service adds credentials and sorts answers (a front door that is not CMDB, rate limit, transient, auth);
 * CmdbApi builds requests, normalises the envelope and reads each operation's data with its schema, once per
 * request. Business errors (result:false) are returned, not thrown: the operation reads them.
 */
import { looseObject, z } from './zod.js';
import { AuthError, CliError, EXIT } from '../core/errors.js';
import { readAnswer } from './answer.js';
import { maskSecrets, type HttpMethod, type HttpRequest, type HttpResponse } from './client.js';
import { baseUrlOf, frontVerdict, type FrontContext } from './front.js';
import { retryAfterMs } from './retry.js';
import type { Sender, Service, Verdict } from './sender.js';

export type Gateway = 'esb' | 'apigw';

export interface CmdbCredentials {
  appCode: string;
  appSecret: string;
  username?: string;
  token?: string;
}

interface EnvelopeHead {
  code: number;
  message: string;
  permission: unknown;
  requestId?: string;
  /** HTTP status */
  status: number;
}

/** A CMDB answer: on success the operation's data, read with its schema (CMDB_ANSWERS); on failure no data. */
export type CmdbEnvelope<D = unknown> = EnvelopeHead & ({ result: true; data: D } | { result: false; data: null; partial?: D });

export type CmdbOp =
  | 'batch_create_inst'
  | 'batch_update_inst'
  | 'update_process_instance'
  | 'batch_create_instance_association'
  | 'batch_delete_inst'
  | 'search_object_attribute'
  | 'search_object_instances'
  | 'find_object_association'
  | 'find_instance_association'
  | 'search_object_unique'
  | 'list_hosts_without_biz'
  | 'add_host_to_resource_pool'
  | 'list_process_related_info'
  | 'get_proc_template'
  | 'search_instance_associations'
  | 'count_object_instances';

/** apigw method + path per operation; `{bk_obj_id}` is taken out of the params into the path. */
export const APIGW_ROUTES: Record<CmdbOp, { method: HttpMethod; path: string }> = {
  batch_create_inst: { method: 'POST', path: '/api/v3/createmany/instance/object/{bk_obj_id}' },
  batch_update_inst: { method: 'PUT', path: '/api/v3/updatemany/instance/object/{bk_obj_id}' },
  update_process_instance: { method: 'PUT', path: '/api/v3/update/proc/process_instance' },
  batch_create_instance_association: { method: 'POST', path: '/api/v3/createmany/instassociation' },
  batch_delete_inst: { method: 'DELETE', path: '/api/v3/deletemany/instance/object/{bk_obj_id}' },
  search_object_attribute: { method: 'POST', path: '/api/v3/find/objectattr' },
  search_object_instances: { method: 'POST', path: '/api/v3/search/instances/object/{bk_obj_id}' },
  find_object_association: { method: 'POST', path: '/api/v3/find/objectassociation' },
  find_instance_association: { method: 'POST', path: '/api/v3/find/instassociation' },
  // bk-cmdb docs/apidoc/apigw/backend/bk_apigw_resources_bk-cmdb.yaml (operationId search_object_unique); no ESB component.
  search_object_unique: { method: 'POST', path: '/api/v3/find/objectunique/object/{bk_obj_id}' },
  list_hosts_without_biz: { method: 'POST', path: '/api/v3/hosts/list_hosts_without_app' },
  // bk-cmdb docs/apidoc/apigw/open/bk_apigw_resources_bk-cmdb.yaml (operationId add_host_to_resource_pool); ESB: cc.yaml.
  add_host_to_resource_pool: { method: 'POST', path: '/api/v3/hosts/add/resource' },
  list_process_related_info: { method: 'POST', path: '/api/v3/findmany/proc/process_related_info/biz/{bk_biz_id}' },
  get_proc_template: { method: 'POST', path: '/api/v3/find/proc/proc_template/id/{process_template_id}' },
  search_instance_associations: { method: 'POST', path: '/api/v3/search/instance_associations/object/{bk_obj_id}' },
  count_object_instances: { method: 'POST', path: '/api/v3/count/instances/object/{bk_obj_id}' },
};

/** Operations only the gateway serves: the ESB has no component for them (bk-cmdb docs/apidoc/cc/cc.yaml). */
export const GATEWAY_ONLY_OPS: ReadonlySet<CmdbOp> = new Set<CmdbOp>(['search_object_unique']);

export const CMDB_OPS = Object.keys(APIGW_ROUTES) as CmdbOp[];

/** Index in the batch ("0", "1", …) → created id / error text (bk-cmdb src/common/metadata/inst.go
 *  CreateManyCommInstResultDetail, association.go CreateManyInstAsstResultDetail). */
const CREATE_MAPS = z.object({
  success_created: z.record(z.string(), z.number()).nullish().transform((m) => m ?? {}),
  error_msg: z.record(z.string(), z.string()).nullish().transform((m) => m ?? {}),
});

const ATTRIBUTE = looseObject({
  id: z.number().optional(),
  bk_property_id: z.string(),
  bk_property_name: z.string().optional(),
  bk_property_type: z.string(),
  isrequired: z.boolean().optional(),
  editable: z.boolean().optional(),
  isonly: z.boolean().optional(),
  ismultiple: z.boolean().optional(),
  option: z.unknown().optional(),
});

const OBJECT_ASSOCIATION = looseObject({ bk_obj_asst_id: z.string(), bk_obj_id: z.string(), bk_asst_obj_id: z.string(), mapping: z.string().optional() });
const INSTANCE_ASSOCIATION = looseObject({ id: z.number(), bk_inst_id: z.number(), bk_asst_inst_id: z.number() });
/** A page of instances, hosts or processes: `info` may be null when nothing matched. */
const page = <T extends z.ZodType>(item: T) => z.object({ count: z.number().optional(), info: z.array(item).nullish().transform((l) => l ?? []) });
const RECORD = z.record(z.string(), z.unknown());
/** A unique rule: its keys name attributes by their numeric id (bk-cmdb src/common/metadata/unique.go ObjectUnique). */
const UNIQUE_RULE = looseObject({ keys: z.array(looseObject({ key_kind: z.string(), key_id: z.number() })).nullish().transform((k) => k ?? []) });
/**
 * add_host_to_resource_pool: per host, its index in host_info and its new id, or the error text (bk-cmdb
 * src/common/metadata/hostserver.go AddHostToResourcePoolResult; both lists `omitempty`). An error entry may carry an
 * id: the host was created and a later step (its audit log) failed.
 */
const HOST_ADDED = looseObject({ index: z.number(), bk_host_id: z.number().optional(), error_message: z.string().optional() });
const HOSTS_ADDED = z.object({
  success: z.array(HOST_ADDED).nullish().transform((l) => l ?? []),
  error: z.array(HOST_ADDED).nullish().transform((l) => l ?? []),
});
const PROCESS_DETAIL = looseObject({ process: RECORD.nullish(), process_template: looseObject({ id: z.number().optional() }).nullish() });
const PROC_TEMPLATE = looseObject({
  bk_process_name: z.string().optional(),
  property: z.record(z.string(), looseObject({ as_default_value: z.boolean().optional() }).nullable()).nullish(),
});

/**
 * Per operation: the shape of `data` in a successful answer (only what the tool reads; other keys pass), and
 * whether the request changes data (an unreadable answer to a write may hide an applied write).
 */
export const CMDB_ANSWERS = {
  batch_create_inst: { write: true, data: CREATE_MAPS },
  batch_update_inst: { write: true, data: z.unknown() },
  update_process_instance: { write: true, data: z.array(z.number()).nullish().transform((ids) => ids ?? []) },
  batch_create_instance_association: { write: true, data: CREATE_MAPS },
  batch_delete_inst: { write: true, data: z.unknown() },
  search_object_attribute: { write: false, data: z.array(ATTRIBUTE) },
  search_object_instances: { write: false, data: page(RECORD) },
  find_object_association: { write: false, data: z.array(OBJECT_ASSOCIATION) },
  find_instance_association: { write: false, data: z.array(INSTANCE_ASSOCIATION) },
  search_object_unique: { write: false, data: z.array(UNIQUE_RULE).nullish().transform((r) => r ?? []) },
  list_hosts_without_biz: { write: false, data: page(RECORD) },
  add_host_to_resource_pool: { write: true, data: HOSTS_ADDED, partial: true },
  list_process_related_info: { write: false, data: page(PROCESS_DETAIL) },
  get_proc_template: { write: false, data: PROC_TEMPLATE },
  // export: a page of associations `{info}` (no count), and a count (bk-cmdb metadata.CommonCountResult).
  search_instance_associations: { write: false, data: page(INSTANCE_ASSOCIATION) },
  count_object_instances: { write: false, data: z.object({ count: z.number() }) },
} satisfies Record<CmdbOp, { write: boolean; data: z.ZodType; partial?: true }>;

/** The data of a successful answer to `op`, as its schema reads it. */
export type CmdbData<O extends CmdbOp> = z.output<(typeof CMDB_ANSWERS)[O]['data']>;

/** 'apigw' when the URL path contains /api/bk-cmdb/, else 'esb'. */
export function defaultGateway(url: string): Gateway {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // not a full URL: look at the text as given
  }
  return /\/api\/bk-cmdb(\/|$)/.test(path) ? 'apigw' : 'esb';
}

const RATE_LIMIT_CODES = new Set([1642901, 1642902, 1642903, 1642904, 1306429, 1199997]);
const APP_AUTH_CODES = new Set([1640101, 1306401]);
const USER_AUTH_CODES = new Set([1640102, 1306402]);
/**
 * Refused credentials: the ESB answers 1306000 (legacy-bk-paas esb/common/errors.py COMMON_ERROR, raised for the app
 * and user validators), the gateway HTTP 400 with 1640001 (bk-auth-validate.lua → errorx.new_invalid_args).
 */
const ESB_REFUSED = 1306000;
const GATEWAY_INVALID_ARGS = 1640001;
/** The app may not call this API: ESB 1306403, gateway 403 / 1640301 (errorx.new_app_no_permission). */
const APP_NO_PERMISSION_CODES = new Set([1306403, 1640301]);
/** No answer in time: the gateway's 504 (1650401), the ESB's 1306201 after its 30 s (esb/outgoing.py). */
const NO_CLEAR_ANSWER_CODES = new Set([1650401, 1306201]);
const PERMISSION_CODE = 9900403;

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A BlueKing envelope: `result`, or a numeric `code` (ESB, gateway) or `bk_error_code` (apiserver refusals that
 * pass the gateway unchanged), api-notes §5. Anything else did not come from CMDB or its front doors.
 */
const ENVELOPE = looseObject({ result: z.unknown().optional(), code: z.unknown().optional(), bk_error_code: z.unknown().optional() })
  .refine((b) => typeof b.result === 'boolean' || num(b.code) !== undefined || num(b.bk_error_code) !== undefined);

export function isCmdbEnvelope(body: unknown): boolean {
  return ENVELOPE.safeParse(body).success;
}

/** Normalises a CMDB answer (the service has made sure it is an envelope): bk_error_code / bk_error_msg →
 *  code / message; request id from body or header. `data` is left as it came; CmdbApi.call reads it. */
export function toEnvelope(res: HttpResponse): CmdbEnvelope {
  const b = isObject(res.body) ? res.body : {};
  const code = num(b.code) ?? num(b.bk_error_code) ?? (b.result === true ? 0 : res.status >= 400 ? res.status : 0);
  const result = typeof b.result === 'boolean' ? b.result : code === 0 && res.status < 400;
  const head: EnvelopeHead = {
    code,
    message: String(b.message ?? b.bk_error_msg ?? b.msg ?? ''),
    permission: b.permission ?? null,
    requestId: (b.request_id as string | undefined) ?? res.headers['x-bkapi-request-id'] ?? res.headers['x-request-id'],
    status: res.status,
  };
  return result ? { ...head, result, data: b.data ?? null } : { ...head, result, data: null };
}

/** "action (resource types)" list from CMDB's `permission` field, whichever of its two shapes it has. */
export function describePermission(permission: unknown): string[] {
  const out: string[] = [];
  const typesOf = (a: any): string[] => {
    const list = [...(Array.isArray(a?.related_resource_types) ? a.related_resource_types : []), ...(Array.isArray(a?.resources) ? a.resources.flat(2) : [])];
    const names = list.map((r: any) => r?.type_name ?? r?.type ?? r?.resource_type_name ?? r?.resource_type).filter((x: unknown) => typeof x === 'string' && x);
    if (a?.resource_type_name || a?.resource_type) names.push(a.resource_type_name ?? a.resource_type);
    return [...new Set(names as string[])];
  };
  const actions: any[] = Array.isArray(permission)
    ? permission
    : isObject(permission) && Array.isArray(permission.actions)
      ? permission.actions
      : [];
  for (const a of actions) {
    const name = a?.name ?? a?.action_name;
    const id = a?.id ?? a?.action_id;
    const label = name && id && name !== id ? `${name} (${id})` : String(name ?? id ?? 'unknown action');
    const types = typesOf(a);
    out.push(types.length ? `${label} on ${types.join(', ')}` : label);
  }
  return out;
}

/** Which settings an authentication failure points at. */
export function authSettings(code: number | undefined, message: string): string {
  if (code !== undefined && APP_AUTH_CODES.has(code)) return 'BK_APP_CODE / BK_APP_SECRET';
  if (code !== undefined && USER_AUTH_CODES.has(code)) return 'BK_USERNAME / BK_TOKEN';
  if (/user|token|login/i.test(message) && !/app/i.test(message)) return 'BK_USERNAME / BK_TOKEN';
  if (/app code|bk_app_code=|invalid app/i.test(message) && !/secret/i.test(message)) return 'BK_APP_CODE';
  if (/app/i.test(message) && !/user|token|login/i.test(message)) return 'BK_APP_CODE / BK_APP_SECRET';
  return 'BK_APP_CODE / BK_APP_SECRET and BK_USERNAME / BK_TOKEN';
}

/**
 * Whether the URL's shape fits the other front door, or holds part of the API path already (a pasted full URL).
 * ESB: the part before /api/c/compapi/v2/cc/; apigw: the part before /api/v3/ (api-notes §1).
 */
export function cmdbAddressHint(gateway: Gateway, baseUrl: string): string | undefined {
  let path: string;
  try {
    path = new URL(baseUrl).pathname;
  } catch {
    return undefined;
  }
  if (/\/api\/c\/compapi(\/|$)/.test(path)) return `the URL already holds the ESB path: give only the part before /api/c/compapi/v2/cc/${gateway === 'apigw' ? ', with --gateway esb' : ''}`;
  if (/\/api\/v3(\/|$)/.test(path)) return 'the URL already holds the API path: give only the part before /api/v3/';
  if (gateway === 'esb' && /\/api\/bk-cmdb(\/|$)/.test(path)) return 'the URL has the API gateway\'s path (/api/bk-cmdb/<stage>): use --gateway apigw (CMDB_GATEWAY=apigw)';
  if (gateway === 'apigw' && /\/api\/bk-cmdb\/?$/.test(path)) return 'the gateway path needs its stage after /api/bk-cmdb/ (usually prod: …/api/bk-cmdb/prod)';
  if (gateway === 'apigw' && !/\/api\/bk-cmdb\//.test(path)) return 'for the API gateway the URL is the part before /api/v3/ (e.g. https://bkapi.example.com/api/bk-cmdb/prod); for the ESB give the PaaS address with --gateway esb';
  if (gateway === 'esb' && path !== '/' && path !== '') return `for the ESB the URL is the PaaS address, the part before /api/c/compapi/v2/cc/ (this one has the path ${path}, which may be the web UI's)`;
  return undefined;
}

/**
 * `tenant`: multi-tenant deployments (bk-cmdb's tenant branch) read X-Bk-Tenant-Id. `supplierAccount`: the ESB takes
 * bk_supplier_account from the body, the gateway stage sets X-Bkcmdb-Supplier-Account (src/common/http/header/header.go
 * SupplierAccountHeader); given, it is sent the way the front door reads it.
 */
export function cmdbService(opts: { gateway: Gateway; credentials: CmdbCredentials; language?: string; tenant?: string; supplierAccount?: string }): Service {
  const { gateway, credentials: c } = opts;
  const language = opts.language ?? 'en';
  const secrets = () => [c.appSecret, c.token ?? ''].filter(Boolean);
  const front: FrontContext = {
    service: 'CMDB',
    address: 'CMDB_URL (--url) and CMDB_GATEWAY (--gateway esb|apigw)',
    credentials: 'BK_APP_CODE / BK_APP_SECRET and BK_USERNAME / BK_TOKEN',
    isEnvelope: isCmdbEnvelope,
    addressHint: (base) => cmdbAddressHint(gateway, base),
    secrets,
  };
  const auth: Record<string, string> = { bk_app_code: c.appCode, bk_app_secret: c.appSecret };
  if (c.username) auth.bk_username = c.username;
  if (c.token) auth.bk_token = c.token;
  const who = c.username ? `user "${c.username}"` : 'the user of BK_TOKEN';

  return {
    name: 'cmdb',
    secrets,
    async authorize(req: HttpRequest): Promise<HttpRequest> {
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'X-Bkcmdb-Language': language,
        'Blueking-Language': language,
        ...req.headers,
      };
      if (opts.tenant) headers['X-Bk-Tenant-Id'] = opts.tenant;
      if (gateway === 'apigw') {
        headers['X-Bkapi-Authorization'] = JSON.stringify(auth);
        if (opts.supplierAccount) headers['X-Bkcmdb-Supplier-Account'] = opts.supplierAccount;
        return { ...req, headers };
      }
      const supplier = opts.supplierAccount ? { bk_supplier_account: opts.supplierAccount } : {};
      const body = isObject(req.body) ? { ...auth, ...supplier, ...req.body } : { ...auth, ...supplier };
      return { ...req, headers, body };
    },
    classify(res: HttpResponse, req: HttpRequest): Verdict {
      const b = isObject(res.body) ? res.body : undefined;
      const code = b ? (num(b.code) ?? num(b.bk_error_code)) : undefined;
      const message = maskSecrets(String(b?.message ?? b?.bk_error_msg ?? ''), secrets());
      const said = `HTTP ${res.status}${code !== undefined ? `, code ${code}` : ''}${message ? `: ${message}` : ''}`;

      if (res.status === 429 || (code !== undefined && RATE_LIMIT_CODES.has(code))) {
        const waitMs = retryAfterMs(res.headers['x-bkapi-ratelimit-reset']) ?? retryAfterMs(res.headers['retry-after']);
        return { kind: 'rate-limited', waitMs, reason: `rate limited (${said})` };
      }
      const fromFront = frontVerdict(res, req, front);
      if (fromFront) return fromFront;
      // No clear answer: the write may have happened. Updates are re-sent; creates are looked up first (the sender
      // turns a transient verdict on a non-idempotent request into an AmbiguousWriteError).
      if (res.status >= 500 || (code !== undefined && NO_CLEAR_ANSWER_CODES.has(code))) return { kind: 'transient', reason: said };
      if (code !== undefined && APP_NO_PERMISSION_CODES.has(code)) {
        return {
          kind: 'fatal',
          error: new AuthError(
            `the ${gateway === 'apigw' ? 'API gateway' : 'ESB'} does not let app "${c.appCode}" call ${req.op} (${said})`,
            `ask the BlueKing administrator to grant app "${c.appCode}" permission to the bk-cmdb API (${gateway === 'apigw' ? 'gateway resource permissions' : 'ESB component permissions'}); the credentials themselves were accepted`,
          ),
        };
      }
      // 1306000 is also the ESB's word for its other refusals (a component error, a malformed parameter): only a
      // message about the app or the user is about credentials.
      if (code === ESB_REFUSED && !/app|user|token|secret/i.test(message)) {
        return { kind: 'fatal', error: new CliError(`the ESB refused the request before it reached CMDB (${said})`, EXIT.AUTH, 'check CMDB_URL and CMDB_GATEWAY; run with --verbose to see the request') };
      }
      const refused = code === ESB_REFUSED || (code === GATEWAY_INVALID_ARGS && res.status === 400);
      if (res.status === 401 || res.status === 403 || refused || (code !== undefined && (APP_AUTH_CODES.has(code) || USER_AUTH_CODES.has(code)))) {
        return {
          kind: 'fatal',
          error: new AuthError(`CMDB rejected the credentials (${said}); check ${authSettings(code, message)}`),
        };
      }
      if (code === PERMISSION_CODE) {
        const missing = describePermission(b?.permission);
        return {
          kind: 'fatal',
          error: new AuthError(
            `CMDB permission denied for ${who} (${req.op})${missing.length ? `; missing: ${missing.join('; ')}` : message ? `: ${message}` : ''}`,
            'ask the CMDB administrator to grant these permissions (BlueKing IAM), or use another BK_USERNAME',
          ),
        };
      }
      if (res.status === 404) {
        // The front door itself has no such API (gateway 1640401; an ESB without the component).
        const hint = cmdbAddressHint(gateway, baseUrlOf(res, req));
        return {
          kind: 'fatal',
          error: new CliError(`CMDB's ${gateway === 'apigw' ? 'API gateway' : 'ESB'} has no ${req.op} at ${req.method} ${maskSecrets(res.url, secrets())} (${said})`, EXIT.AUTH,
            `check CMDB_URL (--url) and CMDB_GATEWAY (--gateway esb|apigw)${hint ? `; ${hint}` : ''}`),
        };
      }
      return { kind: 'ok' };
    },
  };
}

export class CmdbApi {
  private readonly sender: Sender;
  readonly gateway: Gateway;

  constructor(opts: { sender: Sender; gateway: Gateway }) {
    this.sender = opts.sender;
    this.gateway = opts.gateway;
  }

  /** The request for an operation on this front door (credentials are added by the service). */
  request(op: CmdbOp, params: Record<string, unknown>): HttpRequest {
    if (this.gateway === 'esb' && GATEWAY_ONLY_OPS.has(op)) throw new Error(`CMDB ${op} has no ESB component: only the API gateway serves it`);
    if (this.gateway === 'esb') return { op, method: 'POST', path: `/api/c/compapi/v2/cc/${op}/`, body: { ...params } };
    const route = APIGW_ROUTES[op];
    if (!route) throw new Error(`unknown CMDB operation ${op}`);
    const body: Record<string, unknown> = { ...params };
    const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const v = body[name];
      if (v === undefined || v === null || v === '') throw new Error(`CMDB ${op}: parameter ${name} is required`);
      delete body[name];
      return encodeURIComponent(String(v));
    });
    return { op, method: route.method, path, body };
  }

  /**
   * Builds the request for `op`, sends it, returns the normalised envelope with its data read by the operation's
   * schema (result:false is returned, not thrown). Data that does not fit is a ProtocolError (answer.ts).
   */
  async call<O extends CmdbOp>(op: O, params: Record<string, unknown>, opts: { idempotent: boolean; signal?: AbortSignal }): Promise<CmdbEnvelope<CmdbData<O>>> {
    const res = await this.sender.send(this.request(op, params), opts);
    const env = toEnvelope(res);
    const answer: { write: boolean; data: z.ZodType; partial?: true } = CMDB_ANSWERS[op];
    if (!env.result) {
      // A refusal that still says which rows were applied (add_host_to_resource_pool): its data is read too.
      const data = isObject(res.body) ? res.body.data : undefined;
      if (!answer.partial || data === undefined || data === null) return env as CmdbEnvelope<CmdbData<O>>;
      return { ...env, partial: readAnswer(answer.data, data, { service: 'CMDB', op, status: res.status, write: answer.write }) as CmdbData<O> };
    }
    return { ...env, data: readAnswer(answer.data, env.data, { service: 'CMDB', op, status: res.status, write: answer.write }) as CmdbData<O> };
  }
}
