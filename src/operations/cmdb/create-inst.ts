/** create-inst → batch_create_inst: each row stands alone; answers are index-keyed maps. */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import { BUILTIN_MODELS, attributeToField, uniqueFields, type CmdbAttribute } from '../../schema/model.js';
import { buildShape, shapeRow, unknownColumns } from '../../schema/rows.js';
import type { CheckedRow, Operation, OperationContext, Reconciled, Session } from '../types.js';
import { envelopeError, fetchAttributes, keyText, KeyResolver, readCreateMaps, requireCmdb } from './common.js';

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
    const uniques = uniqueFields(attrs);
    const key = ctx.options.key ?? uniques[0];
    if (ctx.options.key && !ctx.options.noSchema && !uniques.includes(ctx.options.key)) {
      throw new UsageError(`--key ${ctx.options.key} is not a unique field of ${obj}`, uniques.length ? `unique fields: ${uniques.join(', ')}` : `${obj} has no unique field`);
    }
    const isText = ctx.source.format === 'csv';
    const session: Session = {
      uniqueKey: key,
      checkColumns: (columns) => unknownColumns(shape, columns),
      check(rec: InputRecord): CheckedRow {
        const { payload, errors } = shapeRow(shape, rec.values, isText, isText);
        return { row: rec.row, values: rec.values, payload, group: '', errors };
      },
      async send(rows, signal) {
        const env = await requireCmdb(ctx).call('batch_create_inst', { bk_obj_id: obj, details: rows.map((r) => r.payload) }, { idempotent: false, signal });
        if (!env.result) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
        return { kind: 'rows', results: readCreateMaps(env, rows.length) };
      },
      describe: () => [
        `model ${obj}: ${ctx.options.noSchema ? 'not checked (--no-schema)' : `${attrs.length} fields checked`}`,
        key ? `unclear answers are checked by ${key} before anything is sent again` : `${obj} has no unique field: rows of a batch with an unclear answer are reported "outcome unknown", never re-sent`,
      ],
    };
    if (key) {
      const resolver = () => new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal);
      // Applied means "exists": one instance has the row's key value.
      session.reconcile = async (rows) => {
        const values = rows.map((r) => keyText(r.payload[key]));
        const found = await resolver().lookup(values.filter((v): v is string => v !== undefined));
        return values.map((v): Reconciled => {
          if (v === undefined) return { state: 'unknown', why: `it has no ${key} to look it up by` };
          const ids = found.get(v) ?? [];
          if (ids.length === 0) return { state: 'not-applied' };
          if (ids.length > 1) return { state: 'unknown', why: `${ids.length} ${obj} instances have ${key} "${v}"` };
          return { state: 'applied', id: ids[0]!, created: true };
        });
      };
    }
    return session;
  },
};
