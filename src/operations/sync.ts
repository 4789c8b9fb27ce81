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
import { BUILTIN_MODELS, attributeToField, type CmdbAttribute } from '../schema/model.js';
import { buildShape, shapeRow, unknownColumns, type FieldError } from '../schema/rows.js';
import {
  envelopeError,
  fetchAttributes,
  keyText,
  KeyResolver,
  readCreateMaps,
  requireCmdb,
  WHOLE_REQUEST_CODES,
  type Instance,
} from './cmdb/common.js';
import { requireObj } from './cmdb/create-inst.js';
import { checkKey, fetchUniqueRules } from './cmdb/unique.js';
import { changedFields, describeChanges, sameValue } from './sync-compare.js';
import { checkId, EXPORTED_ID, withoutId } from './sync-ids.js';
import { PlanWriter, readPlanLine } from './sync-plan.js';
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
    if (BUILTIN_MODELS.has(obj)) {
      throw new UsageError(`sync cannot keep "${obj}" in step: it is a built-in model, and batch_create_inst refuses it (the server answers 1199084)`, 'sync custom models such as bk_switch; update built-in ones with update-inst');
    }
    if (ctx.options.noSchema) throw new UsageError('sync compares each row with the server as the server stores it, which needs the model\'s attributes: --no-schema cannot be used', 'run sync without --no-schema');
    const attrs: CmdbAttribute[] = await fetchAttributes(ctx, obj);
    const keyCheck = checkKey(attrs, await fetchUniqueRules(ctx, obj, attrs), obj, key);
    if (keyCheck.problem) throw new UsageError(`--key ${key}: ${keyCheck.problem}`, 'name instances by a field of a unique rule, such as bk_asset_id');
    if (keyCheck.note) ctx.info(keyCheck.note);
    const fields = attrs.map(attributeToField);
    const readOnly = new Set(fields.filter((f) => f.editable === false).map((f) => f.name));
    readOnly.add(key);
    // Required fields are checked on the rows to create only (in classify): a row that updates names what it changes.
    const shape = buildShape(fields, { allowUnknown: false, checkRequired: false, empty: ctx.options.empty, hints: ctx.source.hints, what: `model ${obj}` });
    // No note: the unique rules say the key is unique on its own (one look-up request per 500 rows, no second page).
    const finder = new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal, undefined, keyCheck.numeric, fields.map((f) => f.name), !keyCheck.note);
    const idField = finder.idField;
    const required = fields.filter((f) => f.required).map((f) => f.name);
    const rules = ctx.options.applyPlan ? planRules(ctx, obj, key) : fileRules(ctx, obj, key, required);

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
        const todo = rows.filter((r) => r.errors.length === 0 && !r.settled);
        const found = await finder.find(todo.map((r) => String(r.payload[key])));
        for (const r of todo) rules.classify(r, found.get(String(r.payload[key])) ?? [], { idField, readOnly });
        if (!ctx.options.applyPlan) for (const r of todo) checkId(r, { key, obj });
        for (const r of rows) if (r.errors.length) r.action = 'invalid';
        rules.planned?.(rows);
      },
      async send(rows, signal) {
        const api = requireCmdb(ctx);
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
          const insts = found.get(String(r.payload[key])) ?? [];
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
        `model ${obj}: ${attrs.length} fields checked; rows named by ${key}`,
        'creates go to batch_create_inst, updates (changed fields only) to batch_update_inst; unchanged rows cost no request',
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

export function conflict(r: CheckedRow, error: string) {
  settle(r, 'conflict', { status: 'failed', error_code: CONFLICT, error });
}

function ids(found: Instance[], idField: string): string {
  return found.slice(0, 5).map((x) => String(x[idField])).join(', ') + (found.length > 5 ? ', …' : '');
}

/** Rows from the file: each key once; the server's instance decides create / update / unchanged / conflict. */
function fileRules(ctx: OperationContext, obj: string, key: string, required: string[]): Rules {
  const isText = ctx.source.format === 'csv';
  // First row of each key value: a second row with the same key is caught in pass 1, before anything is sent.
  const firstRow = new Map<string, number>();
  const plan = ctx.options.plan ? new PlanWriter(ctx.options.plan, obj, key) : undefined;
  return {
    check(rec, shape) {
      const { payload, errors } = shapeRow(shape, rec.values, isText, isText);
      const value = keyText(payload[key]);
      if (value === undefined) errors.unshift({ field: key, message: `${key} is empty: sync names each row's instance by it` } as FieldError);
      else {
        const first = firstRow.get(value) ?? rec.row;
        if (!firstRow.has(value)) firstRow.set(value, rec.row);
        if (first !== rec.row) errors.unshift({ field: key, value, message: `${key} "${value}" is also in row ${first}: the file must name each instance once` });
        payload[key] = typeof payload[key] === 'string' ? value : payload[key];
      }
      return { row: rec.row, values: rec.values, payload, group: '', errors, ...(errors.length ? { action: 'invalid' } : {}) };
    },
    classify(r, found, { idField, readOnly }) {
      const value = String(r.payload[key]);
      if (found.length > 1) return conflict(r, `${found.length} ${obj} instances have ${key} "${value}" (ids ${ids(found, idField)}): sync cannot tell which one the row means`);
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
function planRules(ctx: OperationContext, obj: string, key: string): Rules {
  return {
    check(rec, shape) {
      const { line, error } = readPlanLine(rec.values, obj, key);
      const r: CheckedRow = { row: rec.row, values: rec.values, payload: {}, group: '', errors: [] };
      if (error || !line) {
        r.errors.push({ message: error ?? 'not a plan line' });
        return r;
      }
      r.action = line.action;
      r.detail = `file row ${line.row}`;
      if (line.action === 'unchanged') settle(r, 'unchanged', { status: 'unchanged', id: line.id });
      else if (line.action === 'conflict') conflict(r, line.error ?? 'a conflict when the plan was made');
      else if (line.action === 'invalid') r.errors.push({ message: line.error ?? 'invalid when the plan was made' });
      else {
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
    classify(r, found, { idField }) {
      const value = String(r.payload[key]);
      if (r.group === 'create') {
        if (found.length) conflict(r, `since the plan was made, ${found.length === 1 ? 'an instance' : `${found.length} instances`} with ${key} "${value}" appeared (id ${ids(found, idField)}): not created`);
        return;
      }
      const planned = r.payload.inst_id;
      const inst = found.find((x) => x[idField] === planned);
      if (!inst || found.length > 1) return conflict(r, `since the plan was made, ${key} "${value}" ${found.length === 0 ? 'names no instance any more' : `names ${found.length === 1 ? `instance ${ids(found, idField)}` : `${found.length} instances`}, not ${String(planned)}`}: not updated`);
      const moved = Object.keys(r.before ?? {}).filter((f) => !sameValue(r.before![f], inst[f]));
      if (moved.length) return conflict(r, `changed on the server since the plan was made (${moved.map((f) => `${f} is now ${JSON.stringify(inst[f] ?? null)}, the plan saw ${JSON.stringify(r.before![f] ?? null)}`).join('; ')}): not overwritten`);
      r.detail = `${r.detail}; ${describeChanges(new Map(Object.keys(r.before ?? {}).map((f) => [f, [r.before![f], (r.payload.datas as Record<string, unknown>)[f]]])))}`;
    },
  };
}
