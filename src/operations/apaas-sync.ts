/**
 * apaas-sync → records batch_create + batch_update: make an aPaaS object hold what the file says, keyed by a field
 * unique per record. The same shape as sync (src/operations/sync.ts): `resolve` looks the keys of each chunk up
 * (one batch_query per 500 values, src/operations/feishu/lookup.ts, which checks every answer) and classifies each
 * row; creates and updates are batches of different groups, sent to their API by `send`; unchanged rows cost
 * nothing. Both rate windows (50/s and 1000/min per operation) are the Feishu client's, as for every aPaaS command.
 *
 * The plan is sync's (src/operations/sync-plan.ts, lines that also carry `namespace`): `--plan-only` writes it,
 * `--apply <plan>` reads it back, and an update whose record no longer holds the `before` values is failed with
 * error_code `conflict`, never overwritten. `--prune` is src/operations/apaas-prune.ts.
 */
import type { InputRecord } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import { cellsAreText } from '../input/index.js';
import { buildShape, shapeRow, type FieldError } from '../schema/rows.js';
import { keyOf, RecordFinder, type FoundRecord } from './feishu/lookup.js';
import { addHintedValues, apaasHinted, readItems, rejected, requireFeishu, target } from './feishu/records.js';
import { sameApaasValue, type ApaasHint } from './feishu/values.js';
import { changedFields, describeChanges, movedSince, sameValue, type SameField } from './sync-compare.js';
import { PlanWriter, readPlanLine, type PlanForm } from './sync-plan.js';
import { conflict, planRow, settle } from './sync.js';
import type { CheckedRow, Operation, OperationContext, Reconciled, Session } from './types.js';

type Shape = ReturnType<typeof buildShape>;

/** How rows are read and classified: from the file itself, or from a plan (as sync's). */
interface Rules {
  check(rec: InputRecord): CheckedRow;
  classify(r: CheckedRow, found: FoundRecord[]): void;
  /** Called after each chunk is classified (writes the plan). */
  planned?(rows: CheckedRow[]): void;
}

interface Target {
  ctx: OperationContext;
  ns: string;
  obj: string;
  key: string;
  shape: Shape;
  hinted: Array<[string, ApaasHint]>;
  same: SameField;
}

export const apaasSync: Operation = {
  command: 'apaas-sync',
  api: 'records batch_create + batch_update',
  service: 'feishu',
  maxBatch: 500,
  defaultBatch: 500,
  atomic: false,
  unclear: 'reconcile',
  async setup(ctx) {
    const { ns, obj } = target(ctx);
    const key = ctx.options.key ?? '';
    if (!key) throw new UsageError('--key <field> is required: a field unique per record that names each row\'s record', 'for example --key serial_no');
    // Columns with an aPaaS field-kind hint (`tags:multiselect`) are converted as apaas-update converts them, and
    // compared by their kind (src/operations/feishu/values.ts, sameApaasValue).
    const hinted = apaasHinted(ctx.source.hints);
    const shape = buildShape([], { control: hinted.map(([c]) => c), allowUnknown: true, empty: ctx.options.empty, hints: ctx.source.hints, what: `${ns}/${obj}` });
    const kinds = new Map(hinted);
    const same: SameField = (f, a, b) => {
      const kind = kinds.get(f);
      return kind ? sameApaasValue(kind, a, b, sameValue) : sameValue(a, b);
    };
    const t: Target = { ctx, ns, obj, key, shape, hinted, same };
    const rules = ctx.options.applyPlan ? planRules(t) : fileRules(t);
    // A look-up selects the fields the rows have: a CSV's header, or the keys of a chunk's JSON records (a plan's
    // values). One finder (and its cache) per set of fields: the records of a file usually all have the same keys.
    const finders = new Map<string, RecordFinder>();
    const finderFor = (rows: CheckedRow[]) => {
      const fields = ctx.source.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r.payload)))];
      const sig = [...fields].sort().join('\n');
      let f = finders.get(sig);
      if (!f) finders.set(sig, (f = new RecordFinder(requireFeishu(ctx), ns, obj, key, true, fields.filter((c) => c !== '_id'))));
      return f;
    };

    const session: Session = {
      uniqueKey: key,
      required: ctx.options.applyPlan ? undefined : [{ column: key, why: `apaas-sync names each row's record by ${key} (--key)` }],
      checkColumns: () => [],
      check: (rec) => rules.check(rec),
      async resolve(rows) {
        const todo = rows.filter((r) => r.errors.length === 0 && !r.settled);
        if (todo.length) {
          const found = await finderFor(todo).find(todo.map((r) => r.payload[key]), ctx.signal);
          for (const r of todo) rules.classify(r, found.get(keyOf(r.payload[key])!) ?? []);
        }
        for (const r of rows) if (r.errors.length) r.action = 'invalid';
        rules.planned?.(rows);
      },
      async send(rows, signal) {
        const create = rows[0]!.group === 'create';
        // An update sends `_id` and the changed fields only: the key stays on the row (for reconcile), not in the request.
        const records = create ? rows.map((r) => r.payload) : rows.map((r) => withoutKey(r.payload, key));
        const env = await requireFeishu(ctx).records(create ? 'batch_create' : 'batch_update', ns, obj, { records: JSON.stringify(records) }, { idempotent: !create, signal });
        if (!env.ok) return rejected(env);
        return { kind: 'rows', results: readItems(env.data.items, rows.length, create ? undefined : rows.map((r) => String(r.payload._id))) };
      },
      async reconcile(rows, signal) {
        const fields = [...new Set(rows.flatMap((r) => Object.keys(r.payload)))].filter((c) => c !== '_id');
        const fresh = new RecordFinder(requireFeishu(ctx), ns, obj, key, false, fields);
        const found = await fresh.find(rows.map((r) => r.payload[key]), signal);
        return rows.map((r): Reconciled => {
          const recs = found.get(keyOf(r.payload[key])!) ?? [];
          if (recs.length > 1) return { state: 'unknown', why: `${recs.length} records have ${key} "${keyOf(r.payload[key])}"` };
          const rec = recs[0];
          if (r.group === 'create') return rec ? { state: 'applied', id: keyOf(rec._id)!, created: true } : { state: 'not-applied' };
          if (!rec) return { state: 'unknown', why: `no record has ${key} "${keyOf(r.payload[key])}" any more` };
          const changed = Object.keys(r.before ?? {});
          if (changed.every((f) => t.same(f, r.payload[f], rec[f]))) return { state: 'applied', id: keyOf(rec._id)! };
          if (changed.every((f) => sameValue(r.before![f], rec[f]))) return { state: 'not-applied' };
          return { state: 'unknown', why: 'its values are neither the ones before nor the ones sent (changed by someone else meanwhile)' };
        });
      },
      describe: () => [`object ${ns}/${obj}: records named by ${key} (batch_query); creates to batch_create, updates (changed fields only) to batch_update`],
    };
    return session;
  },
};

function withoutKey(payload: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _key, ...rest } = payload;
  return rest;
}

/** The plan's form of an update row: the record's `_id`, and the changed fields' new values. */
function planForm(ns: string, key: string): PlanForm {
  return { namespace: ns, update: (r) => ({ id: String(r.payload._id), after: withoutKey(withoutKey(r.payload, '_id'), key) }) };
}

function idList(found: FoundRecord[]): string {
  return found.slice(0, 5).map((x) => String(x._id)).join(', ') + (found.length > 5 ? ', …' : '');
}

/** Rows from the file: each key once; the server's record decides create / update / unchanged / conflict. */
function fileRules({ ctx, ns, obj, key, shape, hinted, same }: Target): Rules {
  const isText = cellsAreText(ctx.source);
  const skip = new Set(['_id', key]);
  const firstRow = new Map<string, number>();
  const plan = ctx.options.plan ? new PlanWriter(ctx.options.plan, obj, key, planForm(ns, key)) : undefined;
  return {
    check(rec) {
      const { payload, errors } = shapeRow(shape, rec.values, isText, true);
      if (hinted.length) addHintedValues(rec, hinted, ctx.options.empty, payload, errors);
      delete payload._id;
      const k = keyOf(payload[key]);
      if (k === undefined) errors.unshift({ field: key, message: `${key} is empty: apaas-sync names each row's record by it` } as FieldError);
      else {
        if (!firstRow.has(k)) firstRow.set(k, rec.row);
        const first = firstRow.get(k)!;
        if (first !== rec.row) errors.unshift({ field: key, value: k, message: `${key} "${k}" is also in row ${first}: the file must name each record once` });
      }
      return { row: rec.row, values: rec.values, payload, group: '', errors, ...(errors.length ? { action: 'invalid' } : {}) };
    },
    classify(r, found) {
      const k = keyOf(r.payload[key])!;
      if (found.length > 1) return conflict(r, `${found.length} ${obj} records have ${key} "${k}" (_id ${idList(found)}): apaas-sync cannot tell which one the row means`);
      const rec = found[0];
      if (!rec) {
        r.action = 'create';
        r.group = 'create';
        return;
      }
      const id = keyOf(rec._id)!;
      const changes = changedFields(r.payload, rec, skip, same);
      if (changes.size === 0) return settle(r, 'unchanged', { status: 'unchanged', id });
      r.action = 'update';
      r.group = 'update';
      r.before = Object.fromEntries([...changes].map(([f, [b]]) => [f, b]));
      r.payload = { _id: id, [key]: r.payload[key], ...Object.fromEntries([...changes].map(([f, [, a]]) => [f, a])) };
      r.detail = describeChanges(changes);
    },
    planned: plan ? (rows) => plan.write(rows, key) : undefined,
  };
}

/** Rows from a plan: applied as planned, unless the server moved since (then `conflict`). */
function planRules({ ns, obj, key, shape }: Target): Rules {
  return {
    check(rec) {
      const { r, line } = planRow(rec, readPlanLine(rec.values, obj, key, ns));
      if (line) {
        // The planned values are read as JSON values, as a JSON file's (a plan may have been edited by hand).
        const { payload, errors } = shapeRow(shape, line.after ?? {}, false, true);
        delete payload._id;
        r.errors.push(...errors);
        r.payload = line.action === 'update' ? { _id: String(line.id), [key]: line.value, ...payload } : { ...payload, [key]: line.value };
        if (line.action === 'update') r.before = line.before ?? {};
        r.group = line.action;
      }
      return r;
    },
    classify(r, found) {
      const value = keyOf(r.payload[key])!;
      if (r.group === 'create') {
        if (found.length) conflict(r, `since the plan was made, ${found.length === 1 ? 'a record' : `${found.length} records`} with ${key} "${value}" appeared (_id ${idList(found)}): not created`);
        return;
      }
      const planned = String(r.payload._id);
      const rec = found.find((x) => keyOf(x._id) === planned);
      if (!rec || found.length > 1) return conflict(r, `since the plan was made, ${key} "${value}" ${found.length === 0 ? 'names no record any more' : `names ${found.length === 1 ? `record ${idList(found)}` : `${found.length} records`}, not ${planned}`}: not updated`);
      const moved = movedSince(r.before ?? {}, rec);
      if (moved) return conflict(r, `changed on the server since the plan was made (${moved}): not overwritten`);
      const after = withoutKey(withoutKey(r.payload, '_id'), key);
      r.detail = `${r.detail}; ${describeChanges(new Map(Object.keys(after).map((f) => [f, [r.before![f], after[f]]])))}`;
    },
  };
}
