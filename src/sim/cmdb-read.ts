/**
 * The read operations `export` needs beside the ones in cmdb.ts: instance associations
 * (search_instance_associations) and counts (count_object_instances). Loaded for its effect: it adds its handlers
 * and apigw routes to cmdb.ts's tables, never replacing one that is already there.
 *
 * Server behaviour (TencentBlueKing/bk-cmdb master 111e7ac; ESB names in docs/apidoc/cc/cc.yaml):
 * - search_instance_associations → POST /api/v3/search/instance_associations/object/{bk_obj_id},
 *   `topo_server/service/association.go` SearchInstanceAssociations: `CommonSearchFilter.Validate` (page.limit
 *   1..500, else 1199006 naming page.limit), answer `{info}` without a count (DisableCounter). The object's
 *   association table holds the associations where it is the source or the target.
 * - count_object_instances → POST /api/v3/count/instances/object/{bk_obj_id}, `topo_server/service/inst.go`
 *   CountObjectInstances: built-in models refused (1199084), answer `{count}`.
 */
import { APIGW_ROUTES, checkFilter, CMDB_HANDLERS, readPage, searchRows, type CmdbCtx, type CmdbHandler, type CmdbResult } from './cmdb.js';
import { cmdbMessage } from './messages.js';
import { BUILTIN_MODELS, type Row } from './store.js';

const fail = (ctx: CmdbCtx, code: number, ...params: (string | number)[]): CmdbResult => ({ code, message: cmdbMessage(code, ctx.lang, ...params) });

/** A malformed querybuilder filter, as the failure to answer; null when it is fine (or absent). */
function badFilter(ctx: CmdbCtx, filter: unknown): CmdbResult | null {
  if (filter === undefined || filter === null) return null;
  const why = checkFilter(filter);
  return why ? { ...fail(ctx, 1199006, 'conditions'), message: `${cmdbMessage(1199006, ctx.lang, 'conditions')}: ${why}` } : null;
}

const searchInstanceAssociations: CmdbHandler = (ctx, body) => {
  const obj = body.bk_obj_id;
  if (typeof obj !== 'string' || obj === '') return fail(ctx, 1199006, 'bk_obj_id');
  const page = readPage(body, 500);
  if (typeof page === 'string') return fail(ctx, 1199006, page);
  const bad = badFilter(ctx, body.conditions);
  if (bad) return bad;
  const own = ctx.store.associations().filter((a) => a.bk_obj_id === obj || a.bk_asst_obj_id === obj) as unknown as Row[];
  return { code: 0, data: { info: searchRows(own, body.conditions, page, body.fields, 'id').info } };
};

const countObjectInstances: CmdbHandler = (ctx, body) => {
  const obj = body.bk_obj_id;
  if (typeof obj !== 'string' || obj === '') return fail(ctx, 1199006, 'bk_obj_id');
  if (!ctx.store.models.has(obj)) return fail(ctx, 1101030, obj);
  if (BUILTIN_MODELS.has(obj)) return fail(ctx, 1199084, obj);
  const bad = badFilter(ctx, body.conditions);
  if (bad) return bad;
  const all = [...ctx.store.instanceMap(obj).values()];
  return { code: 0, data: { count: searchRows(all, body.conditions, { start: 0, limit: 0, sort: '' }, null, 'bk_inst_id').count } };
};

const HANDLERS: Record<string, CmdbHandler> = {
  search_instance_associations: searchInstanceAssociations,
  count_object_instances: countObjectInstances,
};

const ROUTES = [
  { method: 'POST', re: /^\/api\/v3\/search\/instance_associations\/object\/([^/]+)\/?$/, op: 'search_instance_associations' },
  { method: 'POST', re: /^\/api\/v3\/count\/instances\/object\/([^/]+)\/?$/, op: 'count_object_instances' },
];

for (const [op, handler] of Object.entries(HANDLERS)) CMDB_HANDLERS[op] ??= handler;
for (const r of ROUTES) if (!APIGW_ROUTES.some((x) => x.op === r.op)) APIGW_ROUTES.push(r);
