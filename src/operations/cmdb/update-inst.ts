/**
 * update-inst → batch_update_inst: all or nothing, and the error does not say which item failed.
 * Rows name their instance by bk_inst_id, or by a unique field with --key (resolved before any write).
 */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import { BUILTIN_MODELS, attributeToField, type CmdbAttribute } from '../../schema/model.js';
import { buildShape, fieldOf, shapeRow, unknownColumns, type FieldError } from '../../schema/rows.js';
import { idCell } from '../id-cell.js';
import type { CheckedRow, Operation, Session } from '../types.js';
import { envelopeError, fetchAttributes, keyText, KeyResolver, newTally, requireCmdb, resolveKeyColumn, tallyLine, WHOLE_REQUEST_CODES } from './common.js';
import { checkKey, fetchUniqueRules } from './unique.js';
import { requireObj } from './create-inst.js';
import { cellsAreText } from '../../input/index.js';

export const updateInst: Operation = {
  command: 'update-inst',
  api: 'batch_update_inst',
  service: 'cmdb',
  maxBatch: null,
  defaultBatch: 100,
  atomic: true,
  unclear: 'resend',
  async setup(ctx) {
    const obj = requireObj(ctx);
    if (BUILTIN_MODELS.has(obj) && obj !== 'host') {
      throw new UsageError(`batch_update_inst cannot update "${obj}" instances: it is a built-in model (the server answers 1199084)`);
    }
    const attrs: CmdbAttribute[] = ctx.options.noSchema ? [] : await fetchAttributes(ctx, obj);
    const key = ctx.options.key;
    const keyCheck = key && !ctx.options.noSchema ? checkKey(attrs, await fetchUniqueRules(ctx, obj, attrs), obj, key) : undefined;
    if (keyCheck?.problem) throw new UsageError(`--key ${key}: ${keyCheck.problem}`, 'name instances by a field of a unique rule, or by bk_inst_id');
    if (keyCheck?.note) ctx.info(keyCheck.note);
    const idColumn = key ?? 'bk_inst_id';
    const specs = attrs.map(attributeToField).filter((f) => f.name !== idColumn);
    const shape = buildShape(specs, {
      control: [idColumn],
      allowUnknown: ctx.options.noSchema,
      checkRequired: false,
      empty: ctx.options.empty,
      hints: ctx.source.hints,
      what: `model ${obj}`,
    });
    const readOnly = new Set(specs.filter((f) => f.editable === false).map((f) => f.name));
    const isText = cellsAreText(ctx.source);
    // No connection (a --dry-run with --no-schema): keys stay unresolved, and the plan says so.
    const resolver = key && ctx.cmdb ? new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal, undefined, keyCheck?.numeric) : undefined;
    const tally = newTally();
    /** The values each row's update replaces, read just before its batch is sent (report column before; what revert puts back). */
    const readBefore = async (rows: CheckedRow[], signal: AbortSignal) => {
      if (rows.length === 0) return;
      const fields = [...new Set(rows.flatMap((r) => Object.keys(r.payload.datas as object)))];
      const reader = new KeyResolver(requireCmdb(ctx), obj, obj === 'host' ? 'bk_host_id' : 'bk_inst_id', signal, undefined, true, fields);
      const found = await reader.find(rows.map((r) => String(r.payload.inst_id)));
      for (const r of rows) {
        const inst = found.get(String(r.payload.inst_id))?.[0];
        r.action = 'update';
        if (inst) r.before = Object.fromEntries(Object.keys(r.payload.datas as object).map((f) => [f, inst[f] ?? null]));
      }
    };

    const session: Session = {
      target: obj,
      required: [{ column: idColumn, why: `every row must say which instance to update${key ? '' : ' (or name instances by a unique field with --key)'}` }],
      checkColumns(columns) {
        const errs = unknownColumns(shape, columns);
        for (const c of columns) {
          const f = fieldOf(shape, c) ?? c;
          if (readOnly.has(f)) errs.push({ field: c, message: `field "${c}"${f === c ? '' : ` (${f})`} of ${obj} is not editable; the server would ignore it` });
        }
        return errs;
      },
      check(rec: InputRecord): CheckedRow {
        const { payload: datas, errors } = shapeRow(shape, rec.values, isText, isText);
        let id: unknown;
        const raw = rec.values[idColumn];
        if (key) {
          id = keyText(raw);
          if (id === undefined) errors.unshift({ field: key, message: `${key} is empty: it names the instance to update` });
        } else {
          const cell = idCell(rec.values, 'bk_inst_id', isText, 'the instance to update');
          if (cell.error) errors.unshift(cell.error);
          id = cell.id;
        }
        if (!isText) for (const f of readOnly) if (f in datas) errors.push({ field: f, message: `field "${f}" is not editable; the server would ignore it` });
        if (errors.length === 0 && Object.keys(datas).length === 0) errors.push({ message: 'nothing to update: the row has no field besides ' + idColumn } as FieldError);
        return { row: rec.row, values: rec.values, payload: { inst_id: id, datas }, group: '', errors };
      },
      async send(rows, signal) {
        await readBefore(rows.filter((r) => r.before === undefined), signal);
        const env = await requireCmdb(ctx).call('batch_update_inst', { bk_obj_id: obj, update: rows.map((r) => r.payload) }, { idempotent: true, signal });
        if (env.result) return { kind: 'rows', results: rows.map((r) => ({ ok: true as const, id: r.payload.inst_id as number })) };
        return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: !WHOLE_REQUEST_CODES.has(env.code) };
      },
      describe: () => [
        `model ${obj}: ${ctx.options.noSchema ? 'not checked (--no-schema)' : `${attrs.length} fields checked`}`,
        !key ? 'instances named by bk_inst_id' : resolver ? `instances named by ${key}, resolved with search_object_instances; ${tallyLine(key, tally)}` : `instances named by ${key}: not resolved (no server connection)`,
        'batches are all-or-nothing on the server: a refused batch is split to isolate the rows at fault',
      ],
    };
    if (resolver) session.resolve = (rows) => resolveKeyColumn(rows, resolver, key!, 'inst_id', tally);
    return session;
  },
};
