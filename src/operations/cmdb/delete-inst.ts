/**
 * delete-inst → batch_delete_inst (apigw DELETE /api/v3/deletemany/instance/object/{bk_obj_id}, body
 * {delete:{inst_ids}}; topo_server service/inst.go DeleteInsts runs it in one transaction, no count limit). The
 * server answers success for ids it does not know, so every row is resolved first (an unknown id or key is
 * `invalid`), and it refuses a whole batch while one instance has associations (1101075), so those are looked up
 * first and their rows `failed` naming the links, never sent. Each row's instance, as read before, goes to the
 * report's `before` column (what `revert` re-creates). Nothing is deleted before the user confirms (--yes, or "y").
 */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import { BUILTIN_MODELS, type CmdbAttribute } from '../../schema/model.js';
import { idCell } from '../id-cell.js';
import type { CheckedRow, Operation, OperationContext, Reconciled, Session } from '../types.js';
import { envelopeError, fetchAttributes, keyText, KeyResolver, requireCmdb, WHOLE_REQUEST_CODES, type Instance } from './common.js';
import { requireObj } from './create-inst.js';
import { LinkFinder } from './inst-links.js';
import { checkKey, fetchUniqueRules } from './unique.js';

/** batch_delete_inst's answer while an instance of the request still has associations (CCErrorTopoInstHasAssociation). */
export const HAS_ASSOCIATION = 1101075;

/** Reads instances by id with every field of the model: the `before` of a delete or an update. */
export function instanceReader(ctx: OperationContext, obj: string, attrs: CmdbAttribute[]): (ids: number[]) => Promise<Map<number, Instance>> {
  return async (ids) => {
    const r = new KeyResolver(requireCmdb(ctx), obj, obj === 'host' ? 'bk_host_id' : 'bk_inst_id', ctx.signal, undefined, true, attrs.map((a) => a.bk_property_id));
    const found = await r.find(ids.map(String));
    return new Map([...found].flatMap(([k, insts]) => (insts.length === 1 ? [[Number(k), insts[0]!] as const] : [])));
  };
}

export const deleteInst: Operation = {
  command: 'delete-inst',
  api: 'batch_delete_inst',
  service: 'cmdb',
  maxBatch: null,
  defaultBatch: 200,
  atomic: true,
  unclear: 'reconcile',
  async setup(ctx) {
    const obj = requireObj(ctx);
    if (BUILTIN_MODELS.has(obj)) throw new UsageError(`batch_delete_inst cannot delete "${obj}" instances: it is a built-in model (the server answers 1199084)`, 'delete-inst is for custom models such as bk_switch');
    if (ctx.options.noSchema) throw new UsageError('delete-inst reads every instance before deleting it, so it needs the model\'s fields: --no-schema cannot be used');
    const attrs = await fetchAttributes(ctx, obj);
    const key = ctx.options.key;
    const keyCheck = key ? checkKey(attrs, await fetchUniqueRules(ctx, obj, attrs), obj, key) : undefined;
    if (keyCheck?.problem) throw new UsageError(`--key ${key}: ${keyCheck.problem}`, 'name instances by a field of a unique rule, or by bk_inst_id');
    if (keyCheck?.note) ctx.info(keyCheck.note);
    const column = key ?? 'bk_inst_id';
    const isText = ctx.source.format === 'csv';
    const api = requireCmdb(ctx);
    const fields = attrs.map((a) => a.bk_property_id);
    const byKey = new KeyResolver(api, obj, column, ctx.signal, undefined, key ? keyCheck!.numeric : true, fields);
    const links = new LinkFinder(api, obj, ctx.signal);
    const readById = instanceReader(ctx, obj, attrs);
    // Pass 1 counts; pass 2 resolves again (fresh look-ups) and finds the same rows.
    const firstRow = new Map<number, number>();
    const doomed = new Set<number>();
    const blocked = new Set<number>();

    const session: Session = {
      target: obj,
      required: [{ column, why: `every row must say which instance to delete${key ? '' : ' (or name instances by a unique field with --key)'}` }],
      checkColumns: () => [],
      check(rec: InputRecord): CheckedRow {
        const errors = [];
        let id: unknown;
        if (key) {
          id = keyText(rec.values[key]);
          if (id === undefined) errors.push({ field: key, message: `${key} is empty: it names the instance to delete` });
        } else {
          const cell = idCell(rec.values, 'bk_inst_id', isText, 'the instance to delete');
          if (cell.error) errors.push(cell.error);
          id = cell.id === undefined ? undefined : String(cell.id);
        }
        return { row: rec.row, values: rec.values, payload: { lookup: id }, group: '', errors };
      },
      async resolve(rows) {
        const pending = rows.filter((r) => typeof r.payload.lookup === 'string');
        const found = await byKey.find(pending.map((r) => r.payload.lookup as string));
        const fresh: CheckedRow[] = [];
        for (const r of pending) {
          const value = r.payload.lookup as string;
          const insts = found.get(value) ?? [];
          if (insts.length !== 1) {
            r.errors.push({ field: column, value, message: insts.length === 0
              ? `no ${obj} instance has ${column} "${value}" (the server would ignore it and answer success)`
              : `${insts.length} ${obj} instances have ${column} "${value}" (ids ${insts.slice(0, 5).map((x) => x.bk_inst_id).join(', ')}); name the instance by a unique field or by its id` });
            continue;
          }
          const id = Number(insts[0]!.bk_inst_id);
          const first = firstRow.get(id) ?? r.row;
          firstRow.set(id, first);
          if (first !== r.row) {
            r.errors.push({ field: column, value, message: `names the same instance (id ${id}) as row ${first}` });
            continue;
          }
          r.payload = { inst_id: id };
          r.before = insts[0]!;
          if (key) r.detail = `${key} ${value} → ${id}`;
          if (r.errors.length === 0) fresh.push(r);
        }
        const linked = await links.find(fresh.map((r) => r.payload.inst_id as number));
        for (const r of fresh) {
          const l = linked.get(r.payload.inst_id as number);
          if (l) {
            r.settled = { status: 'failed', id: r.payload.inst_id as number, error_code: String(HAS_ASSOCIATION), error: `not deleted: it still has ${l.length} association(s): ${l.slice(0, 5).join('; ')}${l.length > 5 ? '; …' : ''} (remove them first, then run again)` };
            blocked.add(r.row);
          } else {
            doomed.add(r.row);
          }
        }
      },
      async confirm() {
        const n = doomed.size;
        ctx.info(`delete-inst: ${n} ${obj} instance(s) to delete, ${blocked.size} kept because they still have associations`);
        const max = ctx.options.maxDelete;
        if (max !== undefined && n > max) throw new UsageError(`${n} ${obj} instances would be deleted, more than --max-delete ${max}: nothing deleted`, 'check the file, or raise --max-delete');
        if (n === 0 || ctx.options.yes) return;
        if (!ctx.ask) throw new UsageError(`deleting ${n} ${obj} instance(s) needs --yes when the input is not a terminal: nothing deleted`, 'check the file (--dry-run lists every row in its report), then run again with --yes');
        if (!(await ctx.ask(`Delete ${n} ${obj} instance(s)? [y/N] `))) throw new UsageError('not confirmed: nothing deleted');
      },
      async send(rows, signal) {
        // The report's action column, set when sent (a plan's action counts are sync's own).
        for (const r of rows) r.action = 'delete';
        const env = await api.call('batch_delete_inst', { bk_obj_id: obj, delete: { inst_ids: rows.map((r) => r.payload.inst_id) } }, { idempotent: true, signal });
        if (env.result) return { kind: 'rows', results: rows.map((r) => ({ ok: true as const, id: r.payload.inst_id as number })) };
        // 1101075: an association appeared since the check; bisecting isolates its instance and deletes the rest.
        return { kind: 'rejected', code: env.code, message: env.code === HAS_ASSOCIATION ? `${envelopeError(env)}: it has an association made after the check` : envelopeError(env), splittable: !WHOLE_REQUEST_CODES.has(env.code) };
      },
      // Applied means "gone".
      async reconcile(rows) {
        const left = await readById(rows.map((r) => r.payload.inst_id as number));
        return rows.map((r): Reconciled => (left.has(r.payload.inst_id as number) ? { state: 'not-applied' } : { state: 'applied', id: r.payload.inst_id as number }));
      },
      describe: () => [
        `model ${obj}: instances named by ${column}, each read before (report column before)`,
        `${doomed.size} to delete, ${blocked.size} kept because they still have associations (rows failed, error_code ${HAS_ASSOCIATION})`,
        'batches are all-or-nothing on the server: a refused batch is split to isolate the rows at fault',
      ],
    };
    return session;
  },
};
