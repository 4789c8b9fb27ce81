/**
 * apaas-sync → records batch_create + batch_update: make an aPaaS object hold what the file says, keyed by a field
 * unique per record. The same shape as sync (src/operations/sync.ts): `resolve` looks the keys of each chunk up
 * (one batch_query per 500 values, src/operations/feishu/lookup.ts, which checks every answer) and classifies each
 * row; creates and updates are batches of different groups, sent to their API by `send`; unchanged rows cost
 * nothing. Both rate windows (50/s and 1000/min per operation) are the Feishu client's, as for every aPaaS command.
 */
import { UsageError } from '../core/errors.js';
import { buildShape, shapeRow, type FieldError } from '../schema/rows.js';
import { keyOf, RecordFinder, type FoundRecord } from './feishu/lookup.js';
import { readItems, rejected, requireFeishu, target } from './feishu/records.js';
import { isApaasHint } from './feishu/values.js';
import { changedFields, describeChanges, sameValue } from './sync-compare.js';
import { conflict, settle } from './sync.js';
import type { CheckedRow, Operation, Reconciled, Session } from './types.js';

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
    const apaasHints = Object.entries(ctx.source.hints).filter(([, h]) => isApaasHint(h)).map(([c, h]) => `${c}:${h}`);
    if (apaasHints.length) throw new UsageError(`apaas-sync compares plain values; these aPaaS field kinds are not supported yet: ${apaasHints.join(', ')}`, 'load those columns with apaas-update --key, or give them as JSON values in a JSON / NDJSON file');
    const shape = buildShape([], { allowUnknown: true, empty: ctx.options.empty, hints: ctx.source.hints, what: `${ns}/${obj}` });
    const isText = ctx.source.format === 'csv';
    // A look-up selects the fields the rows have: a CSV's header, or the keys of a chunk's JSON records. One finder
    // (and its cache) per set of fields: the records of a file usually all have the same keys.
    const finders = new Map<string, RecordFinder>();
    const finderFor = (rows: CheckedRow[]) => {
      const fields = ctx.source.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r.payload)))];
      const sig = [...fields].sort().join('\n');
      let f = finders.get(sig);
      if (!f) finders.set(sig, (f = new RecordFinder(requireFeishu(ctx), ns, obj, key, true, fields.filter((c) => c !== '_id'))));
      return f;
    };
    const skip = new Set(['_id', key]);
    const firstRow = new Map<string, number>();

    const session: Session = {
      uniqueKey: key,
      required: [{ column: key, why: `apaas-sync names each row's record by ${key} (--key)` }],
      checkColumns: () => [],
      check(rec) {
        const { payload, errors } = shapeRow(shape, rec.values, isText, true);
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
      async resolve(rows) {
        const todo = rows.filter((r) => r.errors.length === 0);
        const found = await finderFor(todo).find(todo.map((r) => r.payload[key]), ctx.signal);
        for (const r of todo) classify(r, found.get(keyOf(r.payload[key])!) ?? []);
        for (const r of rows) if (r.errors.length) r.action = 'invalid';
      },
      async send(rows, signal) {
        const create = rows[0]!.group === 'create';
        const body = { records: JSON.stringify(rows.map((r) => r.payload)) };
        const env = await requireFeishu(ctx).records(create ? 'batch_create' : 'batch_update', ns, obj, body, { idempotent: !create, signal });
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
          if (changed.every((f) => sameValue(r.payload[f], rec[f]))) return { state: 'applied', id: keyOf(rec._id)! };
          if (changed.every((f) => sameValue(r.before![f], rec[f]))) return { state: 'not-applied' };
          return { state: 'unknown', why: 'its values are neither the ones before nor the ones sent (changed by someone else meanwhile)' };
        });
      },
      describe: () => [`object ${ns}/${obj}: records named by ${key} (batch_query); creates to batch_create, updates (changed fields only) to batch_update`],
    };

    function classify(r: CheckedRow, found: FoundRecord[]) {
      const k = keyOf(r.payload[key])!;
      if (found.length > 1) return conflict(r, `${found.length} ${obj} records have ${key} "${k}" (_id ${found.slice(0, 5).map((x) => String(x._id)).join(', ')}): apaas-sync cannot tell which one the row means`);
      const rec = found[0];
      if (!rec) {
        r.action = 'create';
        r.group = 'create';
        return;
      }
      const id = keyOf(rec._id)!;
      const changes = changedFields(r.payload, rec, skip);
      if (changes.size === 0) return settle(r, 'unchanged', { status: 'unchanged', id });
      r.action = 'update';
      r.group = 'update';
      r.before = Object.fromEntries([...changes].map(([f, [b]]) => [f, b]));
      r.payload = { _id: id, [key]: r.payload[key], ...Object.fromEntries([...changes].map(([f, [, a]]) => [f, a])) };
      r.detail = describeChanges(changes);
    }
    return session;
  },
};
