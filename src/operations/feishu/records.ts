/**
 * Feishu aPaaS object records: batch_update (rows carry _id), batch_create, batch_delete. At most 500 a request;
 * `records` travels as a JSON *string*; `items[i]` answers row i of the batch.
 */
import { AuthError, UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import type { FeishuApi, FeishuEnvelope } from '../../http/feishu.js';
import { buildShape, shapeRow, type FieldError } from '../../schema/rows.js';
import type { BatchVerdict, CheckedRow, Operation, OperationContext, Reconciled, RowResult, Session, UnclearRule } from '../types.js';

type RecordsOp = 'batch_update' | 'batch_create' | 'batch_delete';

interface Item {
  success?: boolean;
  id?: string;
  errors?: Array<{ code?: string; message?: string; sub_code?: string; fields?: string[] }>;
}

function requireFeishu(ctx: OperationContext): FeishuApi {
  if (!ctx.feishu) throw new AuthError('no Feishu connection configured', 'set FEISHU_APP_ID and FEISHU_APP_SECRET, or use --sandbox');
  return ctx.feishu;
}

function target(ctx: OperationContext): { ns: string; obj: string } {
  const ns = ctx.options.namespace;
  const obj = ctx.options.object;
  if (!ns || !obj) throw new UsageError('--namespace and --object are required', 'for example --namespace package_demo__c --object device');
  return { ns, obj };
}

/** A whole-request refusal: 400 / 2320001 "param is invalid" points at some row, so it is worth splitting. */
function rejected(env: FeishuEnvelope): BatchVerdict {
  return { kind: 'rejected', code: env.code, message: `${env.msg || 'request refused'} (code ${env.code})`, splittable: env.code === 2320001 || env.status === 400 };
}

function readItems(env: FeishuEnvelope, n: number): RowResult[] {
  const items: Item[] = Array.isArray(env.data?.items) ? env.data.items : [];
  const out: RowResult[] = [];
  for (let i = 0; i < n; i++) {
    const it = items[i];
    if (!it) out.push({ ok: false, code: 'protocol', error: `the server answered ${items.length} items for ${n} records; this one's outcome is unknown` });
    else if (it.success) out.push({ ok: true, id: it.id });
    else {
      const errs = it.errors ?? [];
      const first = errs[0];
      // error_code holds the first error's code; with several errors, each one's code leads its part of the text.
      const text = (e: NonNullable<Item['errors']>[number]) =>
        `${errs.length > 1 && e.code ? `${e.code}: ` : ''}${e.message || 'failed'}${e.sub_code ? ` [${e.sub_code}]` : ''}${e.fields?.length ? ` (fields: ${e.fields.join(', ')})` : ''}`;
      out.push({ ok: false, code: first?.code || 'failed', error: errs.map(text).join('; ') || 'the server refused this record' });
    }
  }
  return out;
}

function idText(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/**
 * The ids of the records whose `field` holds one of `values` (JSON-compared), through batch_query: a map from
 * JSON.stringify(value) to the ids that have it.
 */
async function recordsWith(api: FeishuApi, ns: string, obj: string, field: string, values: unknown[], signal: AbortSignal): Promise<Map<string, string[]>> {
  const filter = {
    conditions: [
      {
        left: { type: 'metadataVariable', settings: JSON.stringify({ fieldPath: [{ fieldApiName: field, objectApiName: obj }] }) },
        operator: 'isAnyOf',
        right: { type: 'constant', settings: JSON.stringify({ data: values }) },
      },
    ],
    logic_expression: '1',
  };
  const found = new Map<string, string[]>();
  let pageToken: string | undefined;
  do {
    const select = [...new Set(['_id', field])];
    const env = await api.records('batch_query', ns, obj, { select, filter, page_size: 500, ...(pageToken ? { page_token: pageToken } : {}) }, { idempotent: true, signal });
    if (env.code !== 0) throw new Error(`${env.msg} (code ${env.code})`);
    const items = typeof env.data?.items === 'string' ? (JSON.parse(env.data.items) as Record<string, unknown>[]) : ((env.data?.items ?? []) as Record<string, unknown>[]);
    for (const it of items) {
      const k = JSON.stringify(it[field]);
      found.set(k, [...(found.get(k) ?? []), String(it._id)]);
    }
    pageToken = env.data?.has_more ? env.data?.next_page_token : undefined;
  } while (pageToken);
  return found;
}

const given = (v: unknown) => v !== undefined && v !== null && v !== '';

function recordsOperation(command: string, op: RecordsOp): Operation {
  const withId = op !== 'batch_create';
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
      const shape = buildShape([], { control: withId ? ['_id'] : [], allowUnknown: true, empty: ctx.options.empty, hints: ctx.source.hints, what: `${ns}/${obj}` });
      const isText = ctx.source.format === 'csv';
      const key = ctx.options.key;
      const session: Session = {
        uniqueKey: op === 'batch_delete' ? '_id' : key,
        required: withId ? [{ column: '_id', why: 'every row must carry the record id' }] : [],
        checkColumns(columns) {
          const errs: FieldError[] = [];
          if (key && !columns.includes(key)) errs.push({ field: key, message: `column "${key}" (--key) is missing` });
          return errs;
        },
        check(rec: InputRecord): CheckedRow {
          const shaped = op === 'batch_delete' ? { payload: {}, errors: [] as FieldError[] } : shapeRow(shape, rec.values, isText, true);
          const errors = shaped.errors;
          let payload = shaped.payload;
          if (withId) {
            const id = idText(rec.values._id);
            if (!id) errors.unshift({ field: '_id', value: rec.values._id, message: '_id is required: the id of the record' });
            payload = op === 'batch_delete' ? { _id: id } : { _id: id, ...payload };
          }
          if (op === 'batch_update' && errors.length === 0 && Object.keys(payload).length <= 1) errors.push({ message: 'nothing to update: the row has no field besides _id' });
          if (op === 'batch_create' && errors.length === 0 && Object.keys(payload).length === 0) errors.push({ message: 'empty record' });
          return { row: rec.row, values: rec.values, payload, group: '', errors };
        },
        async send(rows, signal) {
          const body = op === 'batch_delete' ? { ids: rows.map((r) => r.payload._id) } : { records: JSON.stringify(rows.map((r) => r.payload)) };
          const env = await requireFeishu(ctx).records(op, ns, obj, body, { idempotent: unclear === 'resend', signal });
          if (env.code !== 0) return rejected(env);
          return { kind: 'rows', results: readItems(env, rows.length) };
        },
        describe: () => [`object ${ns}/${obj}: ${op}, records sent as a JSON string`],
      };
      if (op === 'batch_create' && key) {
        // Applied means "exists": one record has the row's key value.
        session.reconcile = async (rows, signal) => {
          const values = rows.map((r) => r.payload[key]);
          const found = await recordsWith(requireFeishu(ctx), ns, obj, key, values.filter(given), signal);
          return values.map((v): Reconciled => {
            if (!given(v)) return { state: 'unknown', why: `it has no ${key} to look it up by` };
            const ids = found.get(JSON.stringify(v)) ?? [];
            if (ids.length === 0) return { state: 'not-applied' };
            if (ids.length > 1) return { state: 'unknown', why: `${ids.length} records have ${key} ${JSON.stringify(v)}` };
            return { state: 'applied', id: ids[0]!, created: true };
          });
        };
      }
      if (op === 'batch_delete') {
        // Applied means "gone": no record has the row's _id any more.
        session.reconcile = async (rows, signal) => {
          const ids = rows.map((r) => String(r.payload._id));
          const found = await recordsWith(requireFeishu(ctx), ns, obj, '_id', ids, signal);
          const left = new Set([...found.values()].flat());
          return ids.map((id): Reconciled => (left.has(id) ? { state: 'not-applied' } : { state: 'applied', id }));
        };
      }
      return session;
    },
  };
}

export const apaasUpdate = recordsOperation('apaas-update', 'batch_update');
export const apaasCreate = recordsOperation('apaas-create', 'batch_create');
export const apaasDelete = recordsOperation('apaas-delete', 'batch_delete');
