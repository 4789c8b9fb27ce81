/**
 * The read operations `export` pages through, beside the ones in cmdb.ts: hosts (list_hosts_without_biz), instance
 * associations (search_instance_associations) and counts (count_object_instances). Loaded for its effect: it adds
 * its handlers and apigw routes to cmdb.ts's tables, never replacing one that is already there.
 *
 * Server behaviour (TencentBlueKing/bk-cmdb master 111e7ac):
 * - list_hosts_without_biz → POST /api/v3/hosts/list_hosts_without_app, `host_server/service/findhost.go`
 *   ListHostsWithNoBiz: page checked by `metadata.BasePage.Validate(false)` (limit ≤ 1000), sort defaults to
 *   bk_host_id, `host_property_filter` is a querybuilder filter; answer `{count, info}` (info: the host rows).
 * - search_instance_associations → POST /api/v3/search/instance_associations/object/{bk_obj_id},
 *   `topo_server/service/association.go` SearchInstanceAssociations: `CommonSearchFilter.Validate` (page.limit
 *   1..500), answer `{info}` without a count (DisableCounter). The object's association table holds the
 *   associations where it is the source or the target.
 * - count_object_instances → POST /api/v3/count/instances/object/{bk_obj_id}, `topo_server/service/inst.go`
 *   CountObjectInstances: built-in models refused (1199084), answer `{count}`.
 */
import { APIGW_ROUTES, checkFilter, CMDB_HANDLERS, matches, type CmdbCtx, type CmdbHandler, type CmdbResult, type Group } from './cmdb.js';
import { cmdbMessage } from './messages.js';
import type { Row } from './store.js';

const isObj = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (ctx: CmdbCtx, code: number, ...params: (string | number)[]): CmdbResult => ({ code, message: cmdbMessage(code, ctx.lang, ...params) });

/** start/limit of a request's `page`, or the failure to answer. */
function readPage(ctx: CmdbCtx, page: unknown, maxLimit: number): { start: number; limit: number; sort: string } | CmdbResult {
  const p = isObj(page) ? page : {};
  const start = p.start ?? 0;
  if (!Number.isInteger(start) || (start as number) < 0) return fail(ctx, 1199006, 'page.start');
  // Out of range is a parameter error naming page.limit (BasePage.Validate / ValidateLimit → CCErrCommParamsInvalid).
  if (!Number.isInteger(p.limit) || (p.limit as number) <= 0 || (p.limit as number) > maxLimit) return fail(ctx, 1199006, 'page.limit');
  return { start: start as number, limit: p.limit as number, sort: typeof p.sort === 'string' ? p.sort : '' };
}

/** Rows matching an optional querybuilder filter, or the failure to answer. */
function filtered(ctx: CmdbCtx, rows: Row[], filter: unknown, name: string): Row[] | CmdbResult {
  if (filter === undefined || filter === null) return rows;
  const why = checkFilter(filter, name);
  if (why) return { ...fail(ctx, 1199006, name), message: `${cmdbMessage(1199006, ctx.lang, name)}: ${why}` };
  return rows.filter((r) => matches(r, filter as Group));
}

/** "a,-b" sorts by a ascending, then b descending (MongoDB-style keys, as the server's page.sort). */
function sortRows(rows: Row[], sort: string): Row[] {
  if (sort === '') return rows;
  const keys = sort.split(',').map((s) => (s.startsWith('-') ? { k: s.slice(1), dir: -1 } : { k: s.replace(/:1$/, ''), dir: 1 }));
  return rows.sort((a, b) => {
    for (const { k, dir } of keys) {
      const x = a[k] as never, y = b[k] as never;
      if (x !== y) return (x < y ? -1 : 1) * dir;
    }
    return 0;
  });
}

/** The page's rows, cut down to `fields` (always with `keep`) when fields are given. */
function pageOf(rows: Row[], page: { start: number; limit: number }, fields: unknown, keep: string): Row[] {
  const wanted = Array.isArray(fields) && fields.length > 0 ? (fields as string[]) : null;
  return rows.slice(page.start, page.start + page.limit).map((r) => {
    if (!wanted) return structuredClone(r);
    const out: Row = { [keep]: r[keep] };
    for (const f of wanted) if (f in r) out[f] = structuredClone(r[f]);
    return out;
  });
}

const listHostsWithoutBiz: CmdbHandler = (ctx, body) => {
  const page = readPage(ctx, body.page, 1000);
  if ('code' in page) return page;
  const rows = filtered(ctx, ctx.store.instances('host'), body.host_property_filter, 'host_property_filter');
  if ('code' in rows) return rows;
  sortRows(rows, page.sort || 'bk_host_id');
  return { code: 0, data: { count: rows.length, info: pageOf(rows, page, body.fields, 'bk_host_id') } };
};

const searchInstanceAssociations: CmdbHandler = (ctx, body) => {
  const obj = body.bk_obj_id;
  if (typeof obj !== 'string' || obj === '') return fail(ctx, 1199006, 'bk_obj_id');
  const page = readPage(ctx, body.page, 500);
  if ('code' in page) return page;
  const own = ctx.store.associations().filter((a) => a.bk_obj_id === obj || a.bk_asst_obj_id === obj) as unknown as Row[];
  const rows = filtered(ctx, own, body.conditions, 'conditions');
  if ('code' in rows) return rows;
  sortRows(rows, page.sort);
  return { code: 0, data: { info: pageOf(rows, page, body.fields, 'id') } };
};

const countObjectInstances: CmdbHandler = (ctx, body) => {
  const obj = body.bk_obj_id;
  if (typeof obj !== 'string' || obj === '') return fail(ctx, 1199006, 'bk_obj_id');
  const m = ctx.store.models.get(obj);
  if (!m) return fail(ctx, 1101030, obj);
  if (m.builtin) return fail(ctx, 1199084, obj);
  const rows = filtered(ctx, ctx.store.instances(obj), body.conditions, 'conditions');
  if ('code' in rows) return rows;
  return { code: 0, data: { count: rows.length } };
};

const HANDLERS: Record<string, CmdbHandler> = {
  list_hosts_without_biz: listHostsWithoutBiz,
  search_instance_associations: searchInstanceAssociations,
  count_object_instances: countObjectInstances,
};

const ROUTES = [
  { method: 'POST', re: /^\/api\/v3\/hosts\/list_hosts_without_app\/?$/, op: 'list_hosts_without_biz' },
  { method: 'POST', re: /^\/api\/v3\/search\/instance_associations\/object\/([^/]+)\/?$/, op: 'search_instance_associations' },
  { method: 'POST', re: /^\/api\/v3\/count\/instances\/object\/([^/]+)\/?$/, op: 'count_object_instances' },
];

for (const [op, handler] of Object.entries(HANDLERS)) CMDB_HANDLERS[op] ??= handler;
for (const r of ROUTES) if (!APIGW_ROUTES.some((x) => x.op === r.op)) APIGW_ROUTES.push(r);
