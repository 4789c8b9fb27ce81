/** create-inst → batch_create_inst: each row stands alone; answers are index-keyed maps. */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import { BUILTIN_MODELS, attributeToField, type CmdbAttribute } from '../../schema/model.js';
import { buildShape, shapeRow, unknownColumns } from '../../schema/rows.js';
import type { CheckedRow, Operation, OperationContext, Reconciled, Session } from '../types.js';
import { envelopeError, fetchAttributes, keyText, KeyResolver, readCreateMaps, requireCmdb } from './common.js';
import { checkKey, fetchUniqueRules, lookupFields } from './unique.js';
import { cellsAreText } from '../../input/index.js';

/** An id column in create-inst's input: an export (CMDB's own, or ours) meant for an update. */
const EXPORTED_IDS = 'column "bk_inst_id" holds the ids of existing instances (as CMDB\'s export has it): to change those instances use update-inst with the same file; to create new instances delete the column';

export function requireObj(ctx: OperationContext): string {
  const obj = ctx.options.obj;
  if (!obj) throw new UsageError('--obj <bk_obj_id> is required', 'for example --obj bk_switch');
  return obj;
}

export const createInst: Operation = {
  command: 'create-inst',
  api: 'batch_create_inst',
  service: 'cmdb',
  maxBatch: 200,
  defaultBatch: 200,
  atomic: false,
  unclear: 'reconcile',
  async setup(ctx) {
    const obj = requireObj(ctx);
    if (BUILTIN_MODELS.has(obj)) {
      throw new UsageError(`batch_create_inst cannot create "${obj}" instances: it is a built-in model (the server answers 1199084)`, 'use the model\'s own API; create-inst is for custom models such as bk_switch');
    }
    const attrs: CmdbAttribute[] = ctx.options.noSchema ? [] : await fetchAttributes(ctx, obj);
    const shape = buildShape(attrs.map(attributeToField), {
      allowUnknown: ctx.options.noSchema,
      checkRequired: !ctx.options.noSchema,
      empty: ctx.options.empty,
      hints: ctx.source.hints,
      what: `model ${obj}`,
    });
    const rules = ctx.options.noSchema ? undefined : await fetchUniqueRules(ctx, obj, attrs);
    if (ctx.options.key && !ctx.options.noSchema) {
      const c = checkKey(attrs, rules, obj, ctx.options.key);
      if (c.problem) throw new UsageError(`--key ${ctx.options.key}: ${c.problem}`, 'name a field of a single-field unique rule, e.g. bk_inst_name');
    }
    // Unclear creates are checked by a unique field the row fills: the first of these it has a value for.
    const keys = ctx.options.noSchema ? (ctx.options.key ? [ctx.options.key] : []) : lookupFields(attrs, rules, ctx.options.key);
    const key = keys[0];
    const isText = cellsAreText(ctx.source);
    const session: Session = {
      target: obj,
      uniqueKey: key,
      checkColumns: (columns) => unknownColumns(shape, columns).map((e) => (e.field === 'bk_inst_id' ? { field: e.field, message: EXPORTED_IDS } : e)),
      check(rec: InputRecord): CheckedRow {
        const { payload, errors } = shapeRow(shape, rec.values, isText, isText);
        return { row: rec.row, values: rec.values, payload, group: '', errors };
      },
      async send(rows, signal) {
        // The report's action column (set when sent, so that the plan of pass 1 stays sync's own): what revert undoes.
        for (const r of rows) r.action = 'create';
        const env = await requireCmdb(ctx).call('batch_create_inst', { bk_obj_id: obj, details: rows.map((r) => r.payload) }, { idempotent: false, signal });
        if (!env.result) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
        return { kind: 'rows', results: readCreateMaps(env, rows.length) };
      },
      describe: () => [
        `model ${obj}: ${ctx.options.noSchema ? 'not checked (--no-schema)' : `${attrs.length} fields checked`}`,
        keys.length ? `unclear answers are checked by ${keys.join(' or ')} (the first the row fills) before anything is sent again` : `${obj} has no unique field: rows of a batch with an unclear answer are reported "outcome unknown", never re-sent`,
      ],
    };
    if (keys.length) {
      const numeric = new Set(attrs.filter((a) => a.bk_property_type === 'int' || a.bk_property_type === 'float').map((a) => a.bk_property_id));
      // Applied means "exists": one instance has the row's value of the first lookup field the row fills.
      session.reconcile = async (rows) => {
        const by = rows.map((r) => keys.find((k) => keyText(r.payload[k]) !== undefined));
        const out: Reconciled[] = rows.map(() => ({ state: 'unknown', why: `it has no ${keys.join(' or ')} to look it up by` }));
        for (const k of new Set(by.filter((x): x is string => x !== undefined))) {
          const idx = rows.flatMap((_, i) => (by[i] === k ? [i] : []));
          const values = idx.map((i) => keyText(rows[i]!.payload[k])!);
          const found = await new KeyResolver(requireCmdb(ctx), obj, k, ctx.signal, undefined, numeric.has(k)).lookup(values);
          idx.forEach((i, j) => {
            const v = values[j]!;
            const ids = found.get(v) ?? [];
            // Several instances with the value: a conflict, never "found" (the ESB cannot tell us the field is unique).
            out[i] = ids.length === 0 ? { state: 'not-applied' }
              : ids.length > 1 ? { state: 'unknown', why: `${ids.length} ${obj} instances have ${k} "${v}"` }
              : { state: 'applied', id: ids[0]!, created: true };
          });
        }
        return out;
      };
    }
    return session;
  },
};
