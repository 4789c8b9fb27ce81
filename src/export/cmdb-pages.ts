/**
 * Every instance of a model (or every association of one kind), a page at a time, paged by id rather than by
 * offset: each request asks for ids above the last one seen, sorted by id. Rows created or deleted while the
 * export runs therefore never shift a page: no row present throughout is skipped, none is written twice.
 * A page whose ids do not all rise past the cursor means the server ignored the filter or the sort: the export
 * stops rather than write a wrong file.
 *
 * Requests (TencentBlueKing/bk-cmdb master 111e7ac; docs/export.md has the details):
 * - custom models: search_object_instances, `topo_server/service/inst.go` SearchObjectInstances (built-in models
 *   refused with 1199084; `metadata.SearchInstanceFilter`: conditions, fields, page ≤ 500; answer `{info}`);
 * - host: list_hosts_without_biz, `host_server/service/findhost.go` ListHostsWithNoBiz (answer `{count, info}`);
 * - associations: search_instance_associations, `topo_server/service/association.go` SearchInstanceAssociations.
 */
import { CliError, EXIT, UsageError } from '../core/errors.js';
import type { CmdbApi, CmdbEnvelope, CmdbOp } from '../http/cmdb.js';
import { envelopeError } from '../operations/cmdb/common.js';
import { ID_COLUMN, type Rule } from './query.js';
import type { Row } from './sink.js';

export interface Pages {
  /** How many rows the export will have, when the server says (progress only). */
  total?: number;
  pages: AsyncGenerator<Row[]>;
}

interface CursorQuery {
  api: CmdbApi;
  op: CmdbOp;
  /** The request for the page after id `after`. */
  body(after: number): Record<string, unknown>;
  /** The id field the server sorts and filters by. */
  idField: string;
  pageSize: number;
  signal?: AbortSignal;
  what: string;
  /** Called with each answer's data (hosts carry a count). */
  onData?: (data: Record<string, unknown>) => void;
  /** The row as written (hosts: bk_host_id becomes the bk_inst_id column). */
  toRow?: (r: Row) => Row;
}

const and = (rules: Rule[]) => ({ condition: 'AND', rules });

async function call(q: Pick<CursorQuery, 'api' | 'op' | 'signal' | 'what'>, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const env: CmdbEnvelope = await q.api.call(q.op, body, { idempotent: true, signal: q.signal });
  if (!env.result) throw new UsageError(`CMDB refused to list ${q.what} (${q.op}): ${envelopeError(env)}`, 'check --obj / --assoc, --fields and --where; nothing was written');
  return (env.data ?? {}) as Record<string, unknown>;
}

async function* byCursor(q: CursorQuery): AsyncGenerator<Row[]> {
  let after = 0;
  for (;;) {
    const data = await call(q, q.body(after));
    q.onData?.(data);
    const rows = Array.isArray(data.info) ? (data.info as Row[]) : [];
    let last = after;
    for (const r of rows) {
      const id = Number(r[q.idField]);
      if (!(id > last)) {
        throw new CliError(
          `${q.op} answered ${q.idField} ${String(r[q.idField])} after ${last}: the server did not page by ${q.idField} (ascending, above the last id), so the export stopped rather than skip or repeat rows`,
          EXIT.UNREACHABLE,
        );
      }
      last = id;
    }
    if (rows.length > 0) yield q.toRow ? rows.map(q.toRow) : rows;
    if (rows.length < q.pageSize) return;
    after = last;
  }
}

/**
 * How many instances match, for the progress bar only: a server without count_object_instances (an older ESB
 * answers 404) or one that refuses it leaves the total unknown; a real problem shows on the first page.
 */
async function countOf(api: CmdbApi, obj: string, rules: Rule[], signal?: AbortSignal): Promise<number | undefined> {
  try {
    const env = await api.call('count_object_instances', { bk_obj_id: obj, conditions: rules.length ? and(rules) : undefined }, { idempotent: true, signal });
    const n = env.result ? Number((env.data as { count?: unknown } | null)?.count) : NaN;
    return Number.isFinite(n) ? n : undefined;
  } catch (e) {
    if (e instanceof CliError) return undefined;
    throw e;
  }
}

/** Instances of a custom model through search_object_instances; the total from count_object_instances. */
export async function instancePages(api: CmdbApi, o: { obj: string; fields: string[]; rules: Rule[]; pageSize: number; signal?: AbortSignal }): Promise<Pages> {
  const what = `the instances of ${o.obj}`;
  return {
    total: await countOf(api, o.obj, o.rules, o.signal),
    pages: byCursor({
      api,
      op: 'search_object_instances',
      idField: ID_COLUMN,
      pageSize: o.pageSize,
      signal: o.signal,
      what,
      body: (after) => ({
        bk_obj_id: o.obj,
        fields: [ID_COLUMN, ...o.fields],
        conditions: and([...o.rules, { field: ID_COLUMN, operator: 'greater', value: after }]),
        page: { start: 0, limit: o.pageSize, sort: ID_COLUMN },
      }),
    }),
  };
}

/** Hosts through list_hosts_without_biz; each row's bk_host_id is written as the bk_inst_id column. */
export async function hostPages(api: CmdbApi, o: { fields: string[]; rules: Rule[]; pageSize: number; signal?: AbortSignal }): Promise<Pages> {
  const rules = o.rules.map((r) => (r.field === ID_COLUMN ? { ...r, field: 'bk_host_id' } : r));
  const out = {} as Pages;
  out.pages = byCursor({
    api,
    op: 'list_hosts_without_biz',
    idField: 'bk_host_id',
    pageSize: o.pageSize,
    signal: o.signal,
    what: 'the hosts',
    onData: (data) => {
      const n = Number(data.count);
      if (out.total === undefined && Number.isFinite(n)) out.total = n;
    },
    toRow: ({ bk_host_id, ...rest }) => ({ [ID_COLUMN]: bk_host_id, ...rest }),
    body: (after) => ({
      fields: ['bk_host_id', ...o.fields],
      host_property_filter: and([...rules, { field: 'bk_host_id', operator: 'greater', value: after }]),
      page: { start: 0, limit: o.pageSize, sort: 'bk_host_id' },
    }),
  });
  return out;
}

/** The columns `associate` reads, in the order written. */
export const ASSOC_COLUMNS = ['bk_obj_asst_id', 'bk_obj_id', 'bk_inst_id', 'bk_asst_obj_id', 'bk_asst_inst_id'];

/** The source and target models of an association kind (find_object_association), or a usage error naming the kind. */
export async function associationKind(api: CmdbApi, asstId: string, signal?: AbortSignal): Promise<{ obj: string; asstObj: string }> {
  const data = await api.call('find_object_association', { condition: { bk_obj_asst_id: asstId } }, { idempotent: true, signal });
  if (!data.result) throw new UsageError(`cannot look up association kind "${asstId}": ${envelopeError(data)}`, 'check --assoc');
  const kind = (Array.isArray(data.data) ? data.data : []).find((k: Row) => k.bk_obj_asst_id === asstId) as Row | undefined;
  if (!kind || typeof kind.bk_obj_id !== 'string') throw new UsageError(`association kind "${asstId}" does not exist`, 'give the bk_obj_asst_id of the kind, e.g. bk_switch_connect_host');
  return { obj: kind.bk_obj_id, asstObj: String(kind.bk_asst_obj_id) };
}

/** The associations of one kind through search_instance_associations on its source model, by association id. */
export function associationPages(api: CmdbApi, o: { obj: string; asstId: string; pageSize: number; signal?: AbortSignal }): Pages {
  return {
    pages: byCursor({
      api,
      op: 'search_instance_associations',
      idField: 'id',
      pageSize: o.pageSize,
      signal: o.signal,
      what: `the associations ${o.asstId}`,
      body: (after) => ({
        bk_obj_id: o.obj,
        fields: ['id', ...ASSOC_COLUMNS],
        conditions: and([{ field: 'bk_obj_asst_id', operator: 'equal', value: o.asstId }, { field: 'id', operator: 'greater', value: after }]),
        page: { start: 0, limit: o.pageSize, sort: 'id' },
      }),
    }),
  };
}
