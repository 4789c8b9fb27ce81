/**
 * revert <report>: undoes a finished run from its report, row by row, by the row's `action`:
 * - `update` (update-inst, sync): puts the `before` values back with batch_update_inst, only where the server still
 *   holds what the run wrote; otherwise the row is `failed` with error_code `conflict` and the instance is untouched;
 * - `create` (create-inst, sync): deletes the created instance (batch_delete_inst; confirmed with --yes or "y");
 * - `delete` (delete-inst): creates the instance again from its `before` values (batch_create_inst; a new id, said in
 *   the report's detail).
 * Rows that were not `ok`, or changed nothing, have nothing to undo (`unchanged`). Its own report is a report like any
 * other (each row's action is the inverse, `before` what it replaced), so a revert can be reverted.
 */
import { UsageError } from '../core/errors.js';
import type { InputRecord } from '../core/types.js';
import type { CmdbAttribute } from '../schema/model.js';
import { envelopeError, fetchAttributes, readCreateMaps, requireCmdb, WHOLE_REQUEST_CODES } from './cmdb/common.js';
import { instanceReader } from './cmdb/delete-inst.js';
import { readReportRow, sameValue, type ReportRow } from './revert-row.js';
import type { BatchVerdict, CheckedRow, Operation, OperationContext, Reconciled, Session } from './types.js';

/** The inverse of each action: the batch group (and the revert row's own action). */
const UNDO: Record<string, 'update' | 'delete' | 'create'> = { update: 'update', create: 'delete', delete: 'create' };

export const revert: Operation = {
  command: 'revert',
  api: 'batch_update_inst / batch_delete_inst / batch_create_inst',
  service: 'cmdb',
  maxBatch: 200,
  defaultBatch: 100,
  atomic: true,
  unclear: 'reconcile',
  async setup(ctx) {
    const obj = await modelOf(ctx);
    if (obj === undefined) return nothingToUndo();
    const attrs: CmdbAttribute[] = await fetchAttributes(ctx, obj);
    const idField = obj === 'host' ? 'bk_host_id' : 'bk_inst_id';
    const creatable = new Set(attrs.map((a) => a.bk_property_id).filter((f) => f !== idField));
    const api = requireCmdb(ctx);
    const read = instanceReader(ctx, obj, attrs);
    const planned = new Map<string, Set<number>>([['update', new Set()], ['delete', new Set()], ['create', new Set()], ['conflict', new Set()], ['refused', new Set()]]);
    const count = (what: string, row: number) => planned.get(what)!.add(row);
    const totals = () => {
      const n = (k: string) => planned.get(k)!.size;
      return `${n('update')} to put back, ${n('delete')} to delete, ${n('create')} to create again, ${n('conflict')} conflict(s) left untouched${refusedText(n('refused'))}`;
    };

    const session: Session = {
      target: obj,
      checkColumns,
      check(rec: InputRecord): CheckedRow {
        const x = readReportRow(rec.values);
        const row: CheckedRow = { row: rec.row, values: rec.values, payload: {}, group: '', errors: [] };
        const skip = notToUndo(row, x);
        if (skip) return skip;
        if (x.target && x.target !== obj) return { ...row, errors: [{ field: 'target', message: `this row's run wrote to ${x.target}, the report's first row to ${obj}: revert the report of one run at a time` }] };
        const undo = UNDO[x.action]!;
        const hostRefusal = obj === 'host' && undo !== 'update' ? notForHosts(x) : undefined;
        if (hostRefusal) {
          count('refused', rec.row);
          return { ...row, settled: { status: 'failed', id: x.id, error_code: 'not_supported', error: hostRefusal } }; // no action: nothing is done
        }
        if (undo !== 'create' && x.id === undefined) return { ...row, errors: [{ field: 'id', message: `an ok ${x.action} row without the instance id: nothing to undo it by` }] };
        if (undo !== 'delete' && !x.before) return { ...row, errors: [{ field: 'before', message: `an ok ${x.action} row without before-values: nothing to put back` }] };
        if (undo === 'update') {
          // The revert's own input for its report: what it writes, so that reverting the revert compares against it.
          return { ...row, group: 'update', action: 'update', values: { [idField]: x.id, ...x.before }, payload: { inst_id: x.id, datas: x.before, written: x.written } };
        }
        if (undo === 'delete') return { ...row, group: 'delete', action: 'delete', values: { [idField]: x.id }, payload: { inst_id: x.id } };
        const fields = Object.fromEntries(Object.entries(x.before!).filter(([k, v]) => creatable.has(k) && v !== null && v !== ''));
        return { ...row, group: 'create', action: 'create', values: fields, payload: { fields, was: x.id } };
      },
      async resolve(rows) {
        const live = rows.filter((r) => r.errors.length === 0 && !r.settled && r.group !== 'create');
        const found = await read(live.map((r) => r.payload.inst_id as number));
        for (const r of rows) if (r.errors.length === 0 && !r.settled && r.group === 'create') count('create', r.row);
        for (const r of live) {
          const id = r.payload.inst_id as number;
          const inst = found.get(id);
          if (r.group === 'delete') {
            if (!inst) r.settled = { status: 'unchanged', id };
            else {
              r.before = inst;
              count('delete', r.row);
            }
            if (!inst) r.detail = `instance ${id} is gone already`;
            continue;
          }
          const datas = r.payload.datas as Record<string, unknown>;
          const written = r.payload.written as Record<string, unknown>;
          const moved = inst ? Object.keys(datas).filter((f) => !sameValue(inst[f], written[f])) : [];
          if (!inst || moved.length) {
            const why = !inst ? `instance ${id} no longer exists` : moved.map((f) => `${f} is ${JSON.stringify(inst[f] ?? null)} on the server, the run wrote ${JSON.stringify(written[f] ?? null)}`).join('; ');
            r.settled = { status: 'failed', id, error_code: 'conflict', error: `${why}: changed since the run, left untouched` };
            count('conflict', r.row);
          } else {
            r.before = Object.fromEntries(Object.keys(datas).map((f) => [f, inst[f] ?? null]));
            count('update', r.row);
          }
        }
      },
      async confirm() {
        const n = (k: string) => planned.get(k)!.size;
        ctx.info(`revert: ${totals()}`);
        if (n('delete') === 0 || ctx.options.yes) return;
        if (!ctx.ask) throw new UsageError(`reverting deletes ${n('delete')} ${obj} instance(s) and needs --yes when the input is not a terminal: nothing sent`, 'look at the plan with --dry-run, then run again with --yes');
        if (!(await ctx.ask(`Delete ${n('delete')} ${obj} instance(s) the run created (and put back ${n('update')}, create ${n('create')} again)? [y/N] `))) throw new UsageError('not confirmed: nothing sent');
      },
      async send(rows, signal): Promise<BatchVerdict> {
        const group = rows[0]!.group;
        if (group === 'create') {
          const env = await api.call('batch_create_inst', { bk_obj_id: obj, details: rows.map((r) => r.payload.fields) }, { idempotent: false, signal });
          if (!env.result) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
          return { kind: 'rows', results: readCreateMaps(env, rows.length).map((res, i) => (res.ok ? { ...res, detail: `created again as id ${res.id} (was ${rows[i]!.payload.was})` } : res)) };
        }
        const env = group === 'update'
          ? await api.call('batch_update_inst', { bk_obj_id: obj, update: rows.map((r) => ({ inst_id: r.payload.inst_id, datas: r.payload.datas })) }, { idempotent: true, signal })
          : await api.call('batch_delete_inst', { bk_obj_id: obj, delete: { inst_ids: rows.map((r) => r.payload.inst_id) } }, { idempotent: true, signal });
        if (env.result) return { kind: 'rows', results: rows.map((r) => ({ ok: true as const, id: r.payload.inst_id as number })) };
        return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: !WHOLE_REQUEST_CODES.has(env.code) };
      },
      // Applied: a delete's instance is gone, an update's instance holds the before-values; a re-create cannot be told.
      async reconcile(rows) {
        if (rows[0]!.group === 'create') return rows.map(() => ({ state: 'unknown', why: 'a re-created instance is not looked up by a unique field; check the model before running revert again' }) as Reconciled);
        const now = await read(rows.map((r) => r.payload.inst_id as number));
        return rows.map((r): Reconciled => {
          const inst = now.get(r.payload.inst_id as number);
          if (r.group === 'delete') return inst ? { state: 'not-applied' } : { state: 'applied', id: r.payload.inst_id as number };
          const datas = r.payload.datas as Record<string, unknown>;
          return inst && Object.keys(datas).every((f) => sameValue(inst[f], datas[f])) ? { state: 'applied', id: r.payload.inst_id as number } : { state: 'not-applied' };
        });
      },
      describe: () => [`model ${obj}: ${totals()}`],
    };
    return session;
  },
};

/**
 * Why a host row is not undone: revert puts host fields back, but creates and deletes no host. batch_delete_inst and
 * batch_create_inst refuse built-in models (1199084, topo_server service/inst.go); CMDB deletes a host only through its
 * host API (delete_host), and only once the host is back in the resource pool with no associations — rules this tool
 * does not model (as for sync --prune --obj host). So these rows are failed before anything is sent, with the way to do
 * it in CMDB. Undefined when the row has no id (then the usual "no id" check speaks).
 */
function notForHosts(x: ReportRow): string | undefined {
  if (x.id === undefined && x.action === 'create') return undefined;
  const where = x.id === undefined ? 'the host' : `host ${x.id}`;
  if (x.action === 'create') {
    return `${where}, created by the run, is not deleted: cmdb-bulk does not delete hosts (1199084). Next: delete it in CMDB (Hosts → Resource Pool) if it should go; batch_delete_inst refuses hosts, and CMDB deletes a host only from the resource pool with no associations left`;
  }
  return `${where}, deleted by the run, is not created again: cmdb-bulk does not create hosts from a report (1199084). Next: add it in CMDB, or with cmdb-bulk sync --obj host from a file that has it`;
}

const refusedText = (n: number) => (n ? `, ${n} host(s) left as they are (revert does not delete or create hosts)` : '');

const checkColumns = (columns: string[]) => (columns.includes('status') ? [] : [{ message: 'there is no status column: revert takes the report of a finished run' }]);

/** A row revert cannot read (invalid), or one with nothing to undo (unchanged); undefined for an ok row to undo. */
function notToUndo(row: CheckedRow, x: ReportRow): CheckedRow | undefined {
  if (x.problem) return { ...row, errors: [{ message: x.problem }] };
  if (x.status === 'ok' && UNDO[x.action]) return undefined;
  if (x.status === 'ok' && x.action !== 'unchanged') return { ...row, errors: [{ field: 'action', message: `action "${x.action}" of an ok row cannot be undone (expected update, create or delete): is this report from a version of cmdb-bulk without revert?` }] };
  return { ...row, settled: { status: 'unchanged' }, detail: `nothing to undo: the row was ${x.status}${x.action ? ` (${x.action})` : ''}` };
}

/**
 * The model the report's run wrote to: its `target` column (on every row of the reports of create-inst, update-inst,
 * delete-inst, sync and revert), else --obj (a report written before the column existed). Given both, they must
 * agree. Undefined when neither says and no row is ok: the run changed nothing, so no model is needed.
 */
async function modelOf(ctx: OperationContext): Promise<string | undefined> {
  const given = ctx.options.obj;
  const file = ctx.source.file;
  let recorded: string | undefined;
  let anyOk = false;
  for await (const rec of ctx.source.records()) {
    if (rec.error) continue;
    const x = readReportRow(rec.values);
    anyOk ||= x.status === 'ok';
    if (x.target) {
      recorded = x.target;
      break;
    }
  }
  if (recorded && given && recorded !== given) {
    throw new UsageError(`--obj ${given} does not match ${file}: its run wrote to ${recorded} (the report's target column)`, `leave out --obj: cmdb-bulk revert ${file}`);
  }
  const obj = recorded ?? given;
  if (obj || !anyOk) return obj;
  throw new UsageError(
    `${file} does not say which model its run wrote to (it has no target column: written by a cmdb-bulk older than revert <report>, or by a command revert does not undo)`,
    `if it is the report of a create-inst, update-inst, delete-inst or sync run, give that run's model: cmdb-bulk revert ${file} --obj <bk_obj_id>`,
  );
}

/** The session for a report no row of which was applied (a run that sent nothing): every row `unchanged`. */
function nothingToUndo(): Session {
  return {
    checkColumns,
    check(rec) {
      const row: CheckedRow = { row: rec.row, values: rec.values, payload: {}, group: '', errors: [] };
      return notToUndo(row, readReportRow(rec.values)) ?? { ...row, errors: [{ message: 'an ok row in a report without ok rows' }] };
    },
    send: () => Promise.reject(new Error('revert: nothing to send for a report without ok rows')),
  };
}
