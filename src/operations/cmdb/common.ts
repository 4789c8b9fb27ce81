/**
 * What the four CMDB operations share: fetching a model's attributes, reading the index-keyed result maps,
 * telling row-level errors from whole-request ones, and resolving instances named by a unique field.
 */
import { AuthError, UsageError } from '../../core/errors.js';
import type { CmdbApi, CmdbData, CmdbEnvelope } from '../../http/cmdb.js';
import { uniqueFields, type CmdbAttribute } from '../../schema/model.js';
import { didYouMean } from '../../schema/fields.js';
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

const CODE_IN_TEXT = /\b(1[0-9]{6}|99[0-9]{5})\b/;

/** The error code a per-row message carries, when the server put one in it. */
export function codeOf(message: string): number | undefined {
  const m = CODE_IN_TEXT.exec(message);
  return m ? Number(m[1]) : undefined;
}

const ALREADY_EXISTS = /already exist|已经存在|已存在|1101038/i;

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
      if (opts.alreadyExistsIsOk && ALREADY_EXISTS.test(msg)) out.push({ ok: true, detail: 'already exists' });
      else out.push({ ok: false, code: codeOf(msg), error: msg });
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
 * Finds instance ids by a unique field: search_object_instances with `in` over at most 500 values a request,
 * only the id and the key asked for, answers cached for the run (bounded; oldest dropped first).
 * `numeric`: the key is an int/float attribute, so the values are sent as JSON numbers (the server compares types).
 */
export class KeyResolver {
  private cache = new Map<string, Array<number>>();
  constructor(
    private readonly api: CmdbApi,
    readonly objId: string,
    readonly key: string,
    private readonly signal: AbortSignal,
    private readonly maxCache = 200_000,
    private readonly numeric = false,
  ) {}

  get idField(): string {
    return BUILTIN_ID_FIELDS[this.objId] ?? 'bk_inst_id';
  }

  /** Returns, for each value, the ids of the instances that have it (0, 1 or more). */
  async lookup(values: string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const todo = [...new Set(values.filter((v) => !this.cache.has(v)))];
    for (let i = 0; i < todo.length; i += 500) {
      const chunk = todo.slice(i, i + 500);
      const found = new Map<string, number[]>(chunk.map((v) => [v, []]));
      const wanted = this.numeric ? chunk.map(Number).filter(Number.isFinite) : chunk;
      // A chunk of 500 distinct values can still match more than 500 instances (duplicates): page through,
      // sorted by id so that the pages do not overlap.
      for (let start = 0; wanted.length > 0; start += 500) {
        const env = await this.api.call(
          'search_object_instances',
          {
            bk_obj_id: this.objId,
            fields: [this.idField, this.key],
            conditions: { condition: 'AND', rules: [{ field: this.key, operator: 'in', value: wanted }] },
            page: { start, limit: 500, sort: this.idField },
          },
          { idempotent: true, signal: this.signal },
        );
        if (!env.result) throw new UsageError(`cannot look up ${this.objId} instances by ${this.key}: ${envelopeError(env)}`, `check that ${this.key} is a field of ${this.objId}`);
        const info = env.data.info;
        for (const inst of info) {
          const k = String(inst[this.key]);
          const id = Number(inst[this.idField]);
          const ids = found.get(k);
          if (ids && !ids.includes(id)) ids.push(id);
        }
        // A full page asks for the next one, unless the total count says there is none (500 unique values).
        const count = env.data.count;
        if (info.length < 500 || (count !== undefined && start + info.length >= count)) break;
      }
      for (const [k, ids] of found) this.remember(k, ids);
    }
    for (const v of values) out.set(v, this.cache.get(v) ?? []);
    return out;
  }

  private remember(k: string, ids: number[]) {
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

/**
 * Whether `key` can name instances of `objId`: a problem when the model has no such field (a typo would make
 * every row "not found"); a note when the field is not marked unique (rows whose value matches several
 * instances are then invalid, one by one).
 */
export function keyFieldCheck(attrs: CmdbAttribute[], objId: string, key: string): { problem?: string; note?: string; numeric: boolean } {
  const a = attrs.find((x) => x.bk_property_id === key);
  if (!a) {
    const near = didYouMean(key, attrs.map((x) => x.bk_property_id));
    const uniques = uniqueFields(attrs);
    return {
      problem: `${objId} has no field "${key}"${near ? ` (did you mean "${near}"?)` : ''}${uniques.length ? `; its unique fields: ${uniques.join(', ')}` : ''}`,
      numeric: false,
    };
  }
  const numeric = a.bk_property_type === 'int' || a.bk_property_type === 'float';
  if (a.isonly) return { numeric };
  const uniques = uniqueFields(attrs);
  return {
    numeric,
    note: `note: ${key} is not a unique field of ${objId}${uniques.length ? ` (unique: ${uniques.join(', ')})` : ''}; a row whose ${key} matches several instances is invalid`,
  };
}

/** Text of a key cell, or an error. */
export function keyText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : undefined;
  return s === '' ? undefined : s;
}
