/**
 * What the four CMDB operations share: fetching a model's attributes, reading the index-keyed result maps,
 * telling row-level errors from whole-request ones, and resolving instances named by a unique field.
 */
import { AuthError, UsageError } from '../../core/errors.js';
import type { CmdbApi, CmdbData, CmdbEnvelope } from '../../http/cmdb.js';
import type { CmdbAttribute } from '../../schema/model.js';
import type { CheckedRow, OperationContext, RowResult } from '../types.js';

export function requireCmdb(ctx: OperationContext): CmdbApi {
  if (!ctx.cmdb) throw new AuthError('no CMDB connection configured', 'set CMDB_URL and the BK_* credentials, or use --sandbox');
  return ctx.cmdb;
}

/** A business error as one line: "code 1199019: instance not found". */
export function envelopeError(env: CmdbEnvelope): string {
  return `${env.message || 'request failed'}${env.code ? ` (code ${env.code})` : ''}`;
}

export async function fetchAttributes(ctx: OperationContext, objId: string): Promise<CmdbAttribute[]> {
  const env = await requireCmdb(ctx).call('search_object_attribute', { bk_obj_id: objId }, { idempotent: true, signal: ctx.signal });
  if (!env.result) throw new UsageError(`cannot read the attributes of model "${objId}": ${envelopeError(env)}`, 'check --obj');
  const attrs: CmdbAttribute[] = env.data;
  if (attrs.length === 0) throw new UsageError(`model "${objId}" has no attributes: it does not exist or is not visible to this app`, 'check --obj (a model id such as bk_switch, not its display name)');
  return attrs;
}

/** Error codes that concern the whole request, never one row: splitting the batch cannot help. */
export const WHOLE_REQUEST_CODES = new Set([
  1199035, // too many items
  1199038, // empty list
  1199084, // built-in model
  1199075, // custom mainline model
  1101030, // model not found
  1101046, // association kind not found
  1199045, // an id <= 0 (association)
  9900403, // permission (the sender stops the run before this is seen)
]);

/**
 * Per-row errors of batch_create_inst / batch_create_instance_association carry a message and no code (topo_server
 * logics/inst/inst.go CreateManyInstance, logics/inst/association.go: error_msg holds err_msg / Message only), in
 * English or Chinese (resources/errors/*). The report groups them by a short name read from the text.
 */
const ROW_ERRORS: [code: string, text: RegExp][] = [
  ['duplicate', /duplicated instances exist|数据唯一性校验失败/],
  ['already_exists', /the associations .* already exist|关联关系 .* 重复/],
  ['mapping_1_1', /for a 1:1 association|关联关系为1:1/],
  ['mapping_1_n', /relationship is 1:n|关联关系为1:n/],
  ['source_missing', /^the association inst is not exist|^关联实例不存在/],
  ['target_missing', /inst to asst\s+is not exist|被关联实例不存在/],
  ['required', /unassigned|未赋值/],
  ['invalid_value', /verification does not pass|数据参数校验不通过|must be integral|必须是整型|must be boolean|必须为bool|must be a string|必须为字符串|out of bounds|数据越界|regular check failed|正则校验失败|single choice|单选/],
];

/** The short name of a per-row error message, when the text is one the server is known to write. */
export function rowErrorCode(message: string): string | undefined {
  return ROW_ERRORS.find(([, re]) => re.test(message))?.[0];
}

/**
 * batch_create_inst and batch_create_instance_association answer `success_created` / `error_msg` keyed by the
 * index in the batch ("0", "1", ...). Every row must be in exactly one map; a row in neither is a protocol error,
 * never guessed `ok`.
 */
export function readCreateMaps(env: { data: CmdbData<'batch_create_inst'> }, n: number, opts: { alreadyExistsIsOk?: boolean } = {}): RowResult[] {
  const created = env.data.success_created;
  const errors = env.data.error_msg;
  const out: RowResult[] = [];
  for (let i = 0; i < n; i++) {
    const k = String(i);
    if (Object.hasOwn(created, k)) {
      out.push({ ok: true, id: created[k] });
    } else if (Object.hasOwn(errors, k)) {
      const msg = errors[k]!;
      const code = rowErrorCode(msg);
      if (opts.alreadyExistsIsOk && code === 'already_exists') out.push({ ok: true, detail: 'already exists' });
      else out.push({ ok: false, code, error: msg });
    } else {
      out.push({ ok: false, code: 'protocol', error: `the server's answer does not mention this row (index ${i} in neither success_created nor error_msg); its outcome is unknown` });
    }
  }
  return out;
}

/** The id field of a model's instances: bk_inst_id, except for the built-in models. */
const BUILTIN_ID_FIELDS: Record<string, string> = {
  host: 'bk_host_id', biz: 'bk_biz_id', set: 'bk_set_id', module: 'bk_module_id', plat: 'bk_cloud_id',
};

/**
 * Host fields stored as lists and answered as comma-joined text (bk-cmdb common/metadata/host.go HostSpecialFields,
 * HostMapStr.UnmarshalBSON): a host with the IPs "10.0.0.1,10.0.0.5" is found by either of them.
 */
export const HOST_LIST_FIELDS = new Set(['bk_host_innerip', 'bk_host_outerip', 'operator', 'bk_bak_operator', 'bk_host_innerip_v6', 'bk_host_outerip_v6']);

/** The values an instance can be named by through `key`: one, or for a host's list fields each of its items. */
function keyValues(objId: string, key: string, v: unknown): string[] {
  if (objId === 'host' && HOST_LIST_FIELDS.has(key) && typeof v === 'string') return v.split(',').map((x) => x.trim()).filter(Boolean);
  return [String(v)];
}

/** An instance as a look-up returns it: its id field, its key and the other fields asked for. */
export type Instance = Record<string, unknown>;

/**
 * Finds instances by a unique field: search_object_instances with `in` over at most 500 values a request,
 * only the id, the key and `fields` asked for, answers cached for the run (bounded; oldest dropped first).
 * `numeric`: the key is an int/float attribute, so the values are sent as JSON numbers (the server compares types).
 */
export class KeyResolver {
  private cache = new Map<string, Instance[]>();
  constructor(
    private readonly api: CmdbApi,
    readonly objId: string,
    readonly key: string,
    private readonly signal: AbortSignal,
    private readonly maxCache = 200_000,
    private readonly numeric = false,
    private readonly fields: string[] = [],
    /** The key is a unique rule on its own: 500 values match at most 500 instances, so one page answers a chunk. */
    private readonly unique = false,
  ) {}

  get idField(): string {
    return BUILTIN_ID_FIELDS[this.objId] ?? 'bk_inst_id';
  }

  /** Returns, for each value, the ids of the instances that have it (0, 1 or more). */
  async lookup(values: string[]): Promise<Map<string, number[]>> {
    const found = await this.find(values);
    return new Map([...found].map(([k, insts]) => [k, insts.map((x) => Number(x[this.idField]))]));
  }

  /** Returns, for each value, the instances that have it (0, 1 or more), with the fields asked for. */
  async find(values: string[]): Promise<Map<string, Instance[]>> {
    const out = new Map<string, Instance[]>();
    const todo = [...new Set(values.filter((v) => !this.cache.has(v)))];
    for (let i = 0; i < todo.length; i += 500) {
      const chunk = todo.slice(i, i + 500);
      const found = new Map<string, Instance[]>(chunk.map((v) => [v, []]));
      const wanted = this.numeric ? chunk.map(Number).filter(Number.isFinite) : chunk;
      // A chunk of 500 distinct values can still match more than 500 instances (duplicates): page through,
      // sorted by id so that the pages do not overlap.
      for (let start = 0; wanted.length > 0; start += 500) {
        const info = await this.page(wanted, start);
        for (const inst of info) {
          const id = inst[this.idField];
          // Never an id that is not one (a missing field would become NaN in the request).
          if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0) continue;
          for (const value of keyValues(this.objId, this.key, inst[this.key])) {
            const same = found.get(value);
            if (same && !same.some((x) => x[this.idField] === id)) same.push(inst);
          }
        }
        // No count comes back (search_object_instances has DisableCounter): a full page asks for the next one.
        if (info.length < 500 || this.unique) break;
      }
      for (const [k, ids] of found) this.remember(k, ids);
    }
    for (const v of values) out.set(v, this.cache.get(v) ?? []);
    return out;
  }

  /**
   * One page of instances whose key is one of `values`, with the id, the key and the `fields` asked for. Hosts through
   * list_hosts_without_biz (search_object_instances refuses built-in models, topo_server service/inst.go
   * SearchObjectInstances → 1199084); custom models through search_object_instances. `info` may be null.
   * `values` null: every instance (no condition).
   */
  private async page(values: unknown[] | null, start: number): Promise<Record<string, unknown>[]> {
    const filter = values ? { condition: 'AND', rules: [{ field: this.key, operator: 'in', value: values }] } : undefined;
    const page = { start, limit: 500, sort: this.idField };
    const fields = [...new Set([this.idField, this.key, ...this.fields])];
    const env = this.objId === 'host'
      ? await this.api.call('list_hosts_without_biz', { fields, ...(filter ? { host_property_filter: filter } : {}), page }, { idempotent: true, signal: this.signal })
      : await this.api.call('search_object_instances', { bk_obj_id: this.objId, fields, ...(filter ? { conditions: filter } : {}), page }, { idempotent: true, signal: this.signal });
    if (!env.result) throw new UsageError(`cannot look up ${this.objId} instances by ${this.key}: ${envelopeError(env)}`, `check that ${this.key} is a field of ${this.objId}`);
    return env.data.info;
  }

  /** Every instance of the model, a page of up to 500 at a time (sorted by id, so pages do not overlap). */
  async *all(): AsyncGenerator<Instance[]> {
    for (let start = 0; ; start += 500) {
      const info = await this.page(null, start);
      if (info.length) yield info;
      if (info.length < 500) return;
    }
  }

  private remember(k: string, ids: Instance[]) {
    if (this.cache.size >= this.maxCache) {
      const first = this.cache.keys().next().value;
      if (first !== undefined) this.cache.delete(first);
    }
    this.cache.set(k, ids);
  }
}

/** Distinct key values seen by resolveKeyColumn, by outcome: the --dry-run plan counts them. */
export interface KeyTally {
  resolved: Set<string>;
  missing: Set<string>;
  ambiguous: Set<string>;
}

export const newTally = (): KeyTally => ({ resolved: new Set(), missing: new Set(), ambiguous: new Set() });

export function tallyLine(column: string, t: KeyTally): string {
  return `${column}: ${t.resolved.size} value(s) resolved to one instance, ${t.missing.size} matched none, ${t.ambiguous.size} matched several (each row's resolution is in the report's detail column)`;
}

/**
 * Resolves one key column of a chunk of rows to ids: writes the id into `payload[target]`, or adds an error
 * ("no bk_switch has bk_asset_id SW-9", "3 bk_switch instances have bk_sn X"). Rows whose `payload[target]` is
 * not a string (no key value, or already an id) are left alone; rows with other problems are resolved too, so
 * that the report lists every problem of a row.
 */
export async function resolveKeyColumn(
  rows: CheckedRow[],
  resolver: KeyResolver,
  column: string,
  target: string,
  tally?: KeyTally,
): Promise<void> {
  const pending = rows.filter((r) => typeof r.payload[target] === 'string');
  if (pending.length === 0) return;
  const found = await resolver.lookup(pending.map((r) => r.payload[target] as string));
  for (const r of pending) {
    const value = r.payload[target] as string;
    const ids = found.get(value) ?? [];
    if (ids.length === 1) {
      r.payload[target] = ids[0];
      r.detail = [r.detail, `${column} ${value} → ${ids[0]}`].filter(Boolean).join('; ');
      tally?.resolved.add(value);
    } else if (ids.length === 0) {
      r.errors.push({ field: column, value, message: `${column}: no ${resolver.objId} instance has ${resolver.key} "${value}"` });
      tally?.missing.add(value);
    } else {
      r.errors.push({ field: column, value, message: `${column}: ${ids.length} ${resolver.objId} instances have ${resolver.key} "${value}" (ids ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}); name the instance by a unique field or by its id` });
      tally?.ambiguous.add(value);
    }
  }
}

/** Text of a key cell, or an error. */
export function keyText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
  return s === '' ? undefined : s;
}
