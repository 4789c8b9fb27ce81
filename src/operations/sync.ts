/**
 * sync → batch_create_inst + batch_update_inst: make a model hold what the file says, keyed by a unique field.
 *
 * One Session whose rows carry their action: `resolve` looks each chunk's keys up (≤ 500 a request) and classifies
 * every row — `create` (key absent: group "create"), `update` (only the differing fields: group "update"),
 * `unchanged` and `conflict` (settled: never batched) — and `send` dispatches a batch by its group to its API. So
 * the pipeline's guarantees hold as they are: limits, rate, report in input order, unclear creates reconciled by
 * key, refused update batches split (docs/decisions.md, "sync: one session, two APIs").
 *
 * With `applyPlan` the input is a plan written by `--plan-only` (src/operations/sync-plan.ts): each line is applied as
 * it says, after checking that the server still holds the values the plan saw; a row whose values moved is failed
 * with error_code `conflict`, never overwritten.
 */
import { UsageError } from '../core/errors.js';
import type { InputRecord } from '../core/types.js';
import { cellsAreText } from '../input/index.js';
import { BUILTIN_MODELS, attributeToField, type CmdbAttribute } from '../schema/model.js';
import { buildShape, shapeRow, unknownColumns, type FieldError } from '../schema/rows.js';
import {
  envelopeError,
  fetchAttributes,
  HOST_LIST_FIELDS,
  keyText,
  KeyResolver,
  readCreateMaps,
  requireCmdb,
  WHOLE_REQUEST_CODES,
  type Instance,
} from './cmdb/common.js';
import { requireObj } from './cmdb/create-inst.js';
import { addHosts } from './cmdb/host-create.js';
import { checkKey, fetchUniqueRules } from './cmdb/unique.js';
import { EnumQuotes } from './cmdb/enum-quote.js';
import { changedFields, describeChanges, movedSince, sameValue } from './sync-compare.js';
import { checkId, EXPORTED_ID, withoutId } from './sync-ids.js';
import { PlanWriter, readPlanLine, type PlanLine } from './sync-plan.js';
import type { CheckedRow, Operation, OperationContext, Reconciled, Session } from './types.js';

export const CONFLICT = 'conflict';

export const sync: Operation = {
  command: 'sync',
  api: 'batch_create_inst + batch_update_inst',
  service: 'cmdb',
  maxBatch: 200,
  defaultBatch: 200,
  atomic: true,
  unclear: 'reconcile',
  async setup(ctx) {
    const obj = requireObj(ctx);
    const key = ctx.options.key;
    if (!key) throw new UsageError('--key <field> is required: the unique field that names each row\'s instance', 'for example --key bk_asset_id');
    if (BUILTIN_MODELS.has(obj) && obj !== 'host') {
      throw new UsageError(
        `sync cannot keep "${obj}" in step: it is a built-in model. batch_create_inst, search_object_instances and batch_update_inst refuse it (the server answers 1199084), and ${obj} instances are made through their own APIs, under topology rules sync does not model`,
        'sync custom models such as bk_switch, or hosts (--obj host --key bk_host_innerip)',
      );
    }
    if (obj === 'host' && key === 'bk_cloud_id') throw new UsageError('--key bk_cloud_id names a cloud area, not a host', 'name hosts by their IP: --key bk_host_innerip (a bk_cloud_id column then picks the cloud area)');
    if (ctx.options.noSchema) throw new UsageError('sync compares each row with the server as the server stores it, which needs the model\'s attributes: --no-schema cannot be used', 'run sync without --no-schema');
    const attrs: CmdbAttribute[] = await fetchAttributes(ctx, obj);
    const keyCheck = checkKey(attrs, await fetchUniqueRules(ctx, obj, attrs), obj, key);
    if (keyCheck.problem) throw new UsageError(`--key ${key}: ${keyCheck.problem}`, 'name instances by a field of a unique rule, such as bk_asset_id');
    const host = obj === 'host' ? hostRules(key) : undefined;
    if (host) ctx.info(host.note);
    else if (keyCheck.note) ctx.info(keyCheck.note);
    const fields = attrs.map(attributeToField);
    const readOnly = new Set(fields.filter((f) => f.editable === false).map((f) => f.name));
    readOnly.add(key);
    // Required fields are checked on the rows to create only (in classify): a row that updates names what it changes.
    const shape = buildShape(fields, { allowUnknown: false, checkRequired: false, empty: ctx.options.empty, hints: ctx.source.hints, what: `model ${obj}` });
    // No note: the unique rules say the key is unique on its own (one look-up request per 500 rows, no second page).
    const finder = new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal, undefined, keyCheck.numeric, fields.map((f) => f.name), !keyCheck.note);
    const idField = finder.idField;
    const required = fields.filter((f) => f.required).map((f) => f.name);
    // add_host_to_resource_pool needs each host's cloud area (host_server logics/import.go validateHostField).
    if (host && !required.includes(CLOUD)) required.push(CLOUD);
    const scope = host?.scope ?? noScope;
    // enumquote cells may name instances (CMDB's export writes names): resolved to ids before classifying.
    const quotes = EnumQuotes.of(attrs, ctx.cmdb, ctx.signal);
    const rules = ctx.options.applyPlan ? planRules(ctx, obj, key, scope) : fileRules(ctx, obj, key, required, scope, host, quotes);

    const session: Session = {
      target: obj,
      uniqueKey: key,
      required: ctx.options.applyPlan ? undefined : [{ column: key, why: `sync names each row's instance by ${key} (--key)` }],
      checkColumns: (columns) => (ctx.options.applyPlan ? [] : unknownColumns(shape, columns.filter((c) => c !== EXPORTED_ID))),
      check(rec) {
        if (ctx.options.applyPlan) return rules.check(rec, shape);
        const r = rules.check(withoutId(rec), shape);
        r.values = rec.values; // the report keeps the row as it was read, id included
        return r;
      },
      async resolve(rows) {
        if (quotes && !ctx.options.applyPlan) await quotes.resolve(rows, (r) => r.payload);
        const todo = rows.filter((r) => r.errors.length === 0 && !r.settled);
        const found = await finder.find(todo.map((r) => String(r.payload[key])));
        for (const r of todo) rules.classify(r, found.get(String(r.payload[key])) ?? [], { idField, readOnly });
        if (!ctx.options.applyPlan) for (const r of todo) checkId(r, { key, obj });
        for (const r of rows) if (r.errors.length) r.action = 'invalid';
        rules.planned?.(rows);
      },
      async send(rows, signal) {
        const api = requireCmdb(ctx);
        if (rows[0]!.group === 'create' && host) return addHosts(api, rows.map((r) => r.payload), signal);
        if (rows[0]!.group === 'create') {
          const env = await api.call('batch_create_inst', { bk_obj_id: obj, details: rows.map((r) => r.payload) }, { idempotent: false, signal });
          if (!env.result) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
          return { kind: 'rows', results: readCreateMaps(env, rows.length) };
        }
        const update = rows.map((r) => ({ inst_id: r.payload.inst_id, datas: r.payload.datas }));
        const env = await api.call('batch_update_inst', { bk_obj_id: obj, update }, { idempotent: true, signal });
        if (env.result) return { kind: 'rows', results: rows.map((r) => ({ ok: true as const, id: r.payload.inst_id as number })) };
        return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: !WHOLE_REQUEST_CODES.has(env.code) };
      },
      // After an unclear answer: a create is applied when its key exists; an update when the server holds its new
      // values (not applied while it still holds the old ones; anything else is someone else's change).
      async reconcile(rows) {
        const fresh = new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal, undefined, keyCheck.numeric, fields.map((f) => f.name));
        const found = await fresh.find(rows.map((r) => String(r.payload[key])));
        return rows.map((r): Reconciled => {
          const all = found.get(String(r.payload[key])) ?? [];
          // A create is looked for in its scope (a host's cloud area); an update by the id it was sent to.
          const insts = r.group === 'create' ? scope(all, r.payload) : all.filter((x) => x[idField] === r.payload.inst_id);
          if (insts.length > 1) return { state: 'unknown', why: `${insts.length} ${obj} instances have ${key} "${String(r.payload[key])}"` };
          const inst = insts[0];
          if (r.group === 'create') return inst ? { state: 'applied', id: inst[idField] as number, created: true } : { state: 'not-applied' };
          if (!inst) return { state: 'unknown', why: `no ${obj} instance has ${key} "${String(r.payload[key])}" any more` };
          const datas = r.payload.datas as Record<string, unknown>;
          if (Object.keys(datas).every((f) => sameValue(datas[f], inst[f]))) return { state: 'applied', id: inst[idField] as number };
          if (Object.keys(datas).every((f) => sameValue(r.before?.[f], inst[f]))) return { state: 'not-applied' };
          return { state: 'unknown', why: 'its values on the server are neither the ones before nor the ones sent (changed by someone else meanwhile)' };
        });
      },
      describe: () => [
        `model ${obj}: ${attrs.length} fields checked; rows named by ${key}${host ? ` (and ${CLOUD} where the row has it)` : ''}`,
        host
          ? 'hosts are looked up with list_hosts_without_biz; creates go to add_host_to_resource_pool (the resource pool\'s idle module), updates (changed fields only) to batch_update_inst; unchanged rows cost no request'
          : 'creates go to batch_create_inst, updates (changed fields only) to batch_update_inst; unchanged rows cost no request',
      ],
    };
    return session;
  },
};

/** How rows are read and classified: from the file itself, or from a plan. */
interface Rules {
  check(rec: InputRecord, shape: ReturnType<typeof buildShape>): CheckedRow;
  classify(r: CheckedRow, found: Instance[], o: { idField: string; readOnly: ReadonlySet<string> }): void;
  /** Called after each chunk is classified (writes the plan). */
  planned?(rows: CheckedRow[]): void;
}

export function settle(r: CheckedRow, action: string, settled: CheckedRow['settled']) {
  r.action = action;
  r.settled = settled;
}

/**
 * A plan line as a row: settled as the plan says (unchanged, conflict), invalid, or — for a create or an update —
 * returned with its line for the caller to build the request from.
 */
export function planRow(rec: InputRecord, read: { line?: PlanLine; error?: string }): { r: CheckedRow; line?: PlanLine } {
  const { line, error } = read;
  const r: CheckedRow = { row: rec.row, values: rec.values, payload: {}, group: '', errors: [] };
  if (error || !line) {
    r.errors.push({ message: error ?? 'not a plan line' });
    return { r };
  }
  r.action = line.action;
  r.detail = `file row ${line.row}`;
  if (line.action === 'unchanged') settle(r, 'unchanged', { status: 'unchanged', id: line.id });
  else if (line.action === 'conflict') conflict(r, line.error ?? 'a conflict when the plan was made');
  else if (line.action === 'invalid') r.errors.push({ message: line.error ?? 'invalid when the plan was made' });
  else return { r, line };
  return { r };
}

export function conflict(r: CheckedRow, error: string) {
  settle(r, 'conflict', { status: 'failed', error_code: CONFLICT, error });
}

function ids(found: Instance[], idField: string): string {
  return found.slice(0, 5).map((x) => String(x[idField])).join(', ') + (found.length > 5 ? ', …' : '');
}

const CLOUD = 'bk_cloud_id';

/** Narrows the instances a key value matched to those the row means (for hosts: its cloud area, when it names one). */
type Scope = (found: Instance[], payload: Record<string, unknown>) => Instance[];
const noScope: Scope = (found) => found;

interface HostRules {
  note: string;
  scope: Scope;
  /** The row's cloud area as text ('' when it names none). */
  where(payload: Record<string, unknown>): string;
  /** A problem with a key value, or undefined. */
  check(value: string): string | undefined;
}

/**
 * Hosts are unique by bk_cloud_id + bk_host_innerip (static addressing; bk-cmdb admin_server upgrader
 * y3.10.202305110949 adjustHostUniqueIndex), and their IP fields hold lists ("10.0.0.1,10.0.0.5", matched by each item).
 * A row's bk_cloud_id, when it has one, picks the host among those with its key.
 */
function hostRules(key: string): HostRules {
  const cloud = (p: Record<string, unknown>) => p[CLOUD];
  return {
    note: `hosts are named by ${key} and, on rows that have it, ${CLOUD} (the host's unique rule is ${CLOUD} + bk_host_innerip); a row without ${CLOUD} whose ${key} several hosts share is a conflict`,
    scope: (found, p) => (cloud(p) === undefined || cloud(p) === null ? found : found.filter((x) => sameValue(x[CLOUD], cloud(p)))),
    where: (p) => (cloud(p) === undefined || cloud(p) === null ? '' : String(cloud(p))),
    check: (value) => (HOST_LIST_FIELDS.has(key) && value.includes(',') ? `${key} "${value}" holds several values: name each host by one of them` : undefined),
  };
}

/**
 * The first row of each key value (within its scope): a second row naming the same instance is caught in pass 1,
 * before anything is sent. A row without a scope clashes with any row of its value; a scoped one with the same scope
 * or with an unscoped row. Runs in both passes: a row is never its own duplicate.
 */
class FirstRows {
  private readonly any = new Map<string, number>();
  private readonly exact = new Map<string, number>();
  private readonly unscoped = new Map<string, number>();
  constructor(private readonly scoped: boolean) {}

  /** The earlier row that names what this one names, or undefined (and this row is remembered). */
  earlier(value: string, where: string, row: number): number | undefined {
    const k = `${value}\u0000${where}`;
    const first = where === '' ? this.any.get(value) : (this.exact.get(k) ?? this.unscoped.get(value));
    if (first !== undefined && first !== row) return first;
    if (!this.any.has(value)) this.any.set(value, row);
    if (this.scoped && where === '' && !this.unscoped.has(value)) this.unscoped.set(value, row);
    if (this.scoped && where !== '' && !this.exact.has(k)) this.exact.set(k, row);
    return undefined;
  }
}

/** Rows from the file: each key once; the server's instance decides create / update / unchanged / conflict. */
function fileRules(ctx: OperationContext, obj: string, key: string, required: string[], scope: Scope, host?: HostRules, quotes?: EnumQuotes): Rules {
  const isText = cellsAreText(ctx.source); // CSV and workbook cells are text
  const firstRows = new FirstRows(!!host);
  const plan = ctx.options.plan ? new PlanWriter(ctx.options.plan, obj, key) : undefined;
  return {
    check(rec, shape) {
      const { payload, errors } = shapeRow(shape, rec.values, isText, isText);
      quotes?.relax(errors, payload);
      const value = keyText(payload[key]);
      if (value === undefined) errors.unshift({ field: key, message: `${key} is empty: sync names each row's instance by it` } as FieldError);
      else {
        const problem = host?.check(value);
        if (problem) errors.unshift({ field: key, value, message: problem });
        const where = host?.where(payload) ?? '';
        const first = firstRows.earlier(value, where, rec.row);
        if (first !== undefined) errors.unshift({ field: key, value, message: `${key} "${value}"${where ? ` (${CLOUD} ${where})` : ''} is also in row ${first}: the file must name each instance once` });
        payload[key] = typeof payload[key] === 'string' ? value : payload[key];
      }
      return { row: rec.row, values: rec.values, payload, group: '', errors, ...(errors.length ? { action: 'invalid' } : {}) };
    },
    classify(r, all, { idField, readOnly }) {
      const value = String(r.payload[key]);
      const found = scope(all, r.payload);
      const hint = host && !host.where(r.payload) ? ` (give the row a ${CLOUD} to pick one)` : '';
      if (found.length > 1) return conflict(r, `${found.length} ${obj} instances have ${key} "${value}" (ids ${ids(found, idField)}): sync cannot tell which one the row means${hint}`);
      const inst = found[0];
      if (!inst) {
        const missing = required.filter((f) => r.payload[f] === undefined || r.payload[f] === null);
        for (const f of missing) r.errors.push({ field: f, message: `${f} is required to create a ${obj} (no instance has ${key} "${value}" yet)` });
        r.action = missing.length ? 'invalid' : 'create';
        r.group = 'create';
        return;
      }
      const id = inst[idField] as number;
      const changes = changedFields(r.payload, inst, readOnly);
      if (changes.size === 0) return settle(r, 'unchanged', { status: 'unchanged', id });
      r.action = 'update';
      r.group = 'update';
      r.before = Object.fromEntries([...changes].map(([f, [b]]) => [f, b]));
      r.payload = { inst_id: id, [key]: r.payload[key], datas: Object.fromEntries([...changes].map(([f, [, a]]) => [f, a])) };
      r.detail = describeChanges(changes);
    },
    planned: plan ? (rows) => plan.write(rows, key) : undefined,
  };
}

/** Rows from a plan: applied as planned, unless the server moved since (then `conflict`). */
function planRules(ctx: OperationContext, obj: string, key: string, scope: Scope): Rules {
  return {
    check(rec, shape) {
      const { r, line } = planRow(rec, readPlanLine(rec.values, obj, key));
      if (line) {
        // The planned values are checked again: a plan may have been edited by hand.
        const { payload, errors } = shapeRow(shape, line.after ?? {}, false, false);
        r.errors.push(...errors);
        r.payload = { ...payload, [key]: line.value };
        if (line.action === 'update') {
          r.before = line.before ?? {};
          r.payload = { inst_id: line.id, [key]: line.value, datas: payload };
        }
        r.group = line.action;
      }
      return r;
    },
    classify(r, all, { idField }) {
      const value = String(r.payload[key]);
      const found = r.group === 'create' ? scope(all, r.payload) : all;
      if (r.group === 'create') {
        if (found.length) conflict(r, `since the plan was made, ${found.length === 1 ? 'an instance' : `${found.length} instances`} with ${key} "${value}" appeared (id ${ids(found, idField)}): not created`);
        return;
      }
      const planned = r.payload.inst_id;
      const inst = found.find((x) => x[idField] === planned);
      // A host's IP may be in several cloud areas: the planned id names the host.
      if (!inst || (found.length > 1 && obj !== 'host')) return conflict(r, `since the plan was made, ${key} "${value}" ${found.length === 0 ? 'names no instance any more' : `names ${found.length === 1 ? `instance ${ids(found, idField)}` : `${found.length} instances`}, not ${String(planned)}`}: not updated`);
      const moved = movedSince(r.before ?? {}, inst);
      if (moved) return conflict(r, `changed on the server since the plan was made (${moved}): not overwritten`);
      r.detail = `${r.detail}; ${describeChanges(new Map(Object.keys(r.before ?? {}).map((f) => [f, [r.before![f], (r.payload.datas as Record<string, unknown>)[f]]])))}`;
    },
  };
}
