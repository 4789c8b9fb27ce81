/**
 * Feishu aPaaS object records: batch_update, batch_create, batch_delete. At most 500 a request; `records` travels
 * as a JSON *string*; `items[i]` answers row i of the batch.
 *
 * Rows name their record by `_id`, or with `--key <field>` by a field unique per record (looked up with
 * batch_query before anything is written; src/operations/feishu/lookup.ts). apaas-create with `--key` looks the keys
 * up before each batch and never creates a record whose key exists, nor two records of one key from one file.
 */
import { AuthError, UsageError } from '../../core/errors.js';
import type { InputRecord, TypeHint } from '../../core/types.js';
import type { FeishuApi, FeishuData, FeishuEnvelope } from '../../http/feishu.js';
import { AmbiguousWriteError } from '../../http/sender.js';
import { buildShape, shapeRow, type FieldError } from '../../schema/rows.js';
import type { BatchVerdict, CheckedRow, Operation, OperationContext, Reconciled, RowResult, Session, UnclearRule } from '../types.js';
import { cellsAreText } from '../../input/index.js';
import { keyOf, RecordFinder } from './lookup.js';
import { apaasValue, isApaasHint, type ApaasHint } from './values.js';

type RecordsOp = 'batch_update' | 'batch_create' | 'batch_delete';

/** The columns of the file that carry an aPaaS field-kind hint (`tags:multiselect`), with their hint. */
export function apaasHinted(hints: Record<string, TypeHint>, except: string[] = []): Array<[string, ApaasHint]> {
  return Object.entries(hints).filter((e): e is [string, ApaasHint] => isApaasHint(e[1]) && !except.includes(e[0]));
}

/** aPaaS-hinted cells into payload, as the records API takes them (empty: left out, or null with --empty null). */
export function addHintedValues(rec: InputRecord, hinted: Array<[string, ApaasHint]>, empty: 'omit' | 'null', payload: Record<string, unknown>, errors: FieldError[]): void {
  for (const [column, hint] of hinted) {
    const raw = rec.values[column];
    if (raw === undefined) continue;
    const text = typeof raw === 'string' ? raw.trim() : raw;
    if (text === '' || text === null) {
      if (empty === 'null') payload[column] = null;
      continue;
    }
    const r = apaasValue(hint, String(text));
    if (r.error !== undefined) errors.push({ field: column, value: raw, message: `${column}: ${r.error}, got "${String(raw)}"` });
    else payload[column] = r.value;
  }
}

type Item = FeishuData<'batch_update'>['items'][number];

export function requireFeishu(ctx: OperationContext): FeishuApi {
  if (!ctx.feishu) throw new AuthError('no Feishu connection configured', 'set FEISHU_APP_ID and FEISHU_APP_SECRET, or use --sandbox');
  return ctx.feishu;
}

export function target(ctx: OperationContext): { ns: string; obj: string } {
  const ns = ctx.options.namespace;
  const obj = ctx.options.object;
  if (!ns || !obj) throw new UsageError('--namespace and --object are required', 'for example --namespace package_demo__c --object device');
  return { ns, obj };
}

/** A whole-request refusal: 400 / 2320001 "param is invalid" points at some row, so it is worth splitting. */
export function rejected(env: FeishuEnvelope): BatchVerdict {
  return { kind: 'rejected', code: env.code, message: `${env.msg || 'request refused'} (code ${env.code})`, splittable: env.code === 2320001 || env.status === 400 };
}

function itemError(it: Item): RowResult {
  const errs = it.errors ?? [];
  // error_code holds the first error's code; with several errors, each one's code leads its part of the text.
  const text = (e: NonNullable<Item['errors']>[number]) =>
    `${errs.length > 1 && e.code ? `${e.code}: ` : ''}${e.message || 'failed'}${e.sub_code ? ` [${e.sub_code}]` : ''}${e.fields?.length ? ` (fields: ${e.fields.join(', ')})` : ''}`;
  return { ok: false, code: errs[0]?.code || 'failed', error: errs.map(text).join('; ') || 'the server refused this record' };
}

/**
 * items[i] → row i. `sentIds` (update, delete): a successful item must name the record sent at its place; one
 * that names another is a protocol error for that row, never an ok.
 */
export function readItems(items: Item[], n: number, sentIds?: string[]): RowResult[] {
  const out: RowResult[] = [];
  for (let i = 0; i < n; i++) {
    const it = items[i];
    const sent = sentIds?.[i];
    if (!it) out.push({ ok: false, code: 'protocol', error: `the server answered ${items.length} items for ${n} records; this one's outcome is unknown` });
    else if (!it.success) out.push(itemError(it));
    else if (sent !== undefined && String(it.id ?? '') !== sent) {
      out.push({ ok: false, code: 'protocol', error: `the answer for record ${sent} names record ${it.id ?? '(none)'}: the outcome of this row is unknown; check record ${sent}` });
    } else out.push({ ok: true, id: it.id });
  }
  return out;
}

function idText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

const VERB: Record<RecordsOp, string> = { batch_update: 'update', batch_create: 'create', batch_delete: 'delete' };

/** Key values of rows waiting for their record id (update/delete --key): kept off the payload that is sent. */
const pendingKey = new WeakMap<CheckedRow, string>();

function recordsOperation(command: string, op: RecordsOp): Operation {
  const isCreate = op === 'batch_create';
  // An update carries its values: sending it again is harmless. A create or a delete may have been applied.
  const unclear: UnclearRule = op === 'batch_update' ? 'resend' : 'reconcile';
  return {
    command,
    api: `records ${op}`,
    service: 'feishu',
    maxBatch: 500,
    defaultBatch: 500,
    atomic: false,
    unclear,
    async setup(ctx) {
      const { ns, obj } = target(ctx);
      const key = ctx.options.key;
      // update/delete --key: the key column names the record and is not sent; create --key: it is a field like any.
      const byKey = !!key && !isCreate;
      const idColumn = isCreate ? undefined : byKey ? key : '_id';
      const naming = [...(isCreate ? [] : ['_id']), ...(byKey ? [key] : [])]; // columns that name the record, not sent
      const hinted = apaasHinted(ctx.source.hints, naming);
      const control = [...naming, ...hinted.map(([c]) => c)];
      const shape = buildShape([], { control, allowUnknown: true, empty: ctx.options.empty, hints: ctx.source.hints, what: `${ns}/${obj}` });
      const isText = cellsAreText(ctx.source);
      const finder = key && ctx.feishu ? new RecordFinder(ctx.feishu, ns, obj, key, !isCreate) : undefined;
      const firstRowOf = new Map<string, number>(); // create --key: key value → first row that has it
      if (isCreate && !key) {
        ctx.info(`note: without --key, ${command} cannot tell whether a record already exists: running a file again creates its records again. Give --key <a field unique per record> to look them up first.`);
      }

      const addHinted = (rec: InputRecord, payload: Record<string, unknown>, errors: FieldError[]) => addHintedValues(rec, hinted, ctx.options.empty, payload, errors);

      /** The key value of a row (create: as it is sent), or an error. */
      const checkKey = (v: unknown, errors: FieldError[]): string | undefined => {
        const k = keyOf(v);
        if (k === undefined) {
          errors.unshift({ field: key, value: v, message: v === undefined || v === null || v === '' ? `${key} is empty: with --key it names the record${isCreate ? ' and tells whether it exists' : ''}` : `${key} must be text or a number to name a record` });
        }
        return k;
      };

      const session: Session = {
        uniqueKey: op === 'batch_delete' ? '_id' : key, // what unclear answers are reconciled by
        required: [
          ...(idColumn ? [{ column: idColumn, why: `every row must name the record to ${VERB[op]}${byKey ? ' (--key)' : ' by its id (or by a unique field with --key)'}` }] : []),
          ...(isCreate && key ? [{ column: key, why: 'with --key it tells whether the record exists' }] : []),
        ],
        checkColumns: () => [],
        check(rec: InputRecord): CheckedRow {
          const shaped = op === 'batch_delete' ? { payload: {}, errors: [] as FieldError[] } : shapeRow(shape, rec.values, isText, true);
          const errors = shaped.errors;
          let payload: Record<string, unknown> = shaped.payload;
          if (op !== 'batch_delete') addHinted(rec, payload, errors);
          let k: string | undefined;
          if (byKey) {
            k = checkKey(rec.values[key!], errors);
            payload = { _id: undefined, ...payload };
          } else if (!isCreate) {
            const id = idText(rec.values._id);
            if (!id) errors.unshift({ field: '_id', value: rec.values._id, message: '_id is required: the id of the record' });
            payload = op === 'batch_delete' ? { _id: id } : { _id: id, ...payload };
          } else if (key) {
            k = checkKey(payload[key], errors);
            const first = k === undefined ? undefined : firstRowOf.get(k);
            if (k !== undefined && first === undefined) firstRowOf.set(k, rec.row);
            else if (first !== undefined && first !== rec.row) {
              errors.push({ field: key, value: k, message: `${key} "${k}" is also in row ${first} of this file: one record per ${key} (only the first row can be created)` });
            }
          }
          if (op === 'batch_update' && errors.length === 0 && Object.keys(payload).length <= 1) errors.push({ message: `nothing to update: the row has no field besides ${idColumn}` });
          if (isCreate && errors.length === 0 && Object.keys(payload).length === 0) errors.push({ message: 'empty record' });
          const row: CheckedRow = { row: rec.row, values: rec.values, payload, group: '', errors };
          if (byKey && k !== undefined) pendingKey.set(row, k);
          return row;
        },
        async send(rows, signal) {
          if (isCreate && finder) return createAbsent(rows, signal);
          const body = op === 'batch_delete' ? { ids: rows.map((r) => r.payload._id) } : { records: JSON.stringify(rows.map((r) => r.payload)) };
          const env = await requireFeishu(ctx).records(op, ns, obj, body, { idempotent: unclear === 'resend', signal });
          if (!env.ok) return rejected(env);
          return { kind: 'rows', results: readItems(env.data.items, rows.length, isCreate ? undefined : rows.map((r) => String(r.payload._id))) };
        },
        describe: () => [
          `object ${ns}/${obj}: ${op}, records sent as a JSON string`,
          byKey ? `records named by ${key}, looked up with batch_query${finder ? '' : ' (not looked up: no connection)'}` : isCreate && key ? `${key} looked up before each batch: a record whose ${key} exists is not created` : '',
        ].filter(Boolean),
      };

      /** create --key: look the batch's keys up, create only the absent ones; the others fail "already exists". */
      async function createAbsent(rows: CheckedRow[], signal: AbortSignal): Promise<BatchVerdict> {
        const found = await finder!.lookup(rows.map((r) => r.payload[key!]), signal);
        const results: Array<RowResult | undefined> = rows.map((r) => {
          const k = keyOf(r.payload[key!])!;
          const ids = found.get(k) ?? [];
          if (ids.length === 0) return undefined;
          return {
            ok: false,
            code: 'already_exists',
            error: `already exists (${key} "${k}" → _id ${ids.join(', ')}); not created. Next: to change it, load this row with apaas-update --key ${key}`,
          };
        });
        const absent = rows.filter((_, i) => !results[i]);
        if (absent.length > 0) {
          let created: RowResult[];
          try {
            const env = await requireFeishu(ctx).records('batch_create', ns, obj, { records: JSON.stringify(absent.map((r) => r.payload)) }, { idempotent: false, signal });
            if (!env.ok) return rejected(env);
            created = readItems(env.data.items, absent.length);
          } catch (e) {
            // Nothing known yet: the pipeline settles the unclear answer (reconcile). Some rows already known to
            // exist: settle here, so that they keep their "already exists" and are never reported as created.
            if (!(e instanceof AmbiguousWriteError) || absent.length === rows.length) throw e;
            created = await settleLost(absent, e, signal);
          }
          let j = 0;
          for (let i = 0; i < rows.length; i++) results[i] ??= created[j++];
        }
        return { kind: 'rows', results: results as RowResult[] };
      }

      /** After an unclear create: each row found once is ok; a row not there was not created (safe to send again). */
      async function settleLost(rows: CheckedRow[], e: AmbiguousWriteError, signal: AbortSignal): Promise<RowResult[]> {
        const found = await finder!.lookup(rows.map((r) => r.payload[key!]), signal);
        return rows.map((r): RowResult => {
          const ids = found.get(keyOf(r.payload[key!])!) ?? [];
          if (ids.length === 1) return { ok: true, id: ids[0], detail: `found on the server after an unclear answer (${e.message})` };
          if (ids.length === 0) return { ok: false, code: 'not_created', error: `no clear answer (${e.message}) and the record is not on the server: not created; send it again (--retry-failed <report> looks it up first)` };
          return { ok: false, code: 'outcome_unknown', error: `no clear answer (${e.message}); ${ids.length} records have ${key} "${keyOf(r.payload[key!])}": check them by hand` };
        });
      }

      if (byKey && finder) {
        session.resolve = async (rows) => {
          const pending = rows.filter((r) => pendingKey.has(r));
          if (pending.length === 0) return;
          const found = await finder.lookup(pending.map((r) => pendingKey.get(r)), ctx.signal);
          for (const r of pending) {
            const k = pendingKey.get(r)!;
            pendingKey.delete(r);
            const ids = found.get(k) ?? [];
            const given = idText(r.values._id);
            if (ids.length === 1 && given !== undefined && given !== ids[0]) {
              r.errors.push({ field: '_id', value: r.values._id, message: `_id ${given} is not the record whose ${key} is "${k}" (that is _id ${ids[0]})` });
            } else if (ids.length === 1) {
              r.payload._id = ids[0];
              r.detail = [r.detail, `${key} "${k}" → _id ${ids[0]}`].filter(Boolean).join('; ');
            } else if (ids.length === 0) {
              r.errors.push({ field: key, value: k, message: `${key}: no ${obj} record has ${key} "${k}"` });
            } else {
              r.errors.push({ field: key, value: k, message: `${key}: ${ids.length} ${obj} records have ${key} "${k}" (_id ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}); name the record by _id instead` });
            }
          }
        };
      }
      if (isCreate && finder) {
        // Applied means "exists": one record has the row's key value.
        session.reconcile = async (rows, signal) => {
          const found = await finder.lookup(rows.map((r) => r.payload[key!]), signal);
          return rows.map((r): Reconciled => {
            const k = keyOf(r.payload[key!]);
            if (k === undefined) return { state: 'unknown', why: `it has no ${key} to look it up by` };
            const ids = found.get(k) ?? [];
            if (ids.length === 0) return { state: 'not-applied' };
            if (ids.length > 1) return { state: 'unknown', why: `${ids.length} records have ${key} "${k}"` };
            return { state: 'applied', id: ids[0]!, created: true };
          });
        };
      }
      if (op === 'batch_delete' && ctx.feishu) {
        // Applied means "gone": no record has the row's _id any more.
        const byId = new RecordFinder(ctx.feishu, ns, obj, '_id', false);
        session.reconcile = async (rows, signal) => {
          const ids = rows.map((r) => String(r.payload._id));
          const found = await byId.lookup(ids, signal);
          return ids.map((id): Reconciled => ((found.get(id) ?? []).length > 0 ? { state: 'not-applied' } : { state: 'applied', id }));
        };
      }
      return session;
    },
  };
}

export const apaasUpdate = recordsOperation('apaas-update', 'batch_update');
export const apaasCreate = recordsOperation('apaas-create', 'batch_create');
export const apaasDelete = recordsOperation('apaas-delete', 'batch_delete');
