/**
 * update-process → update_process_instance: all or nothing, at most 100 a request. When the server names the
 * process ids it does not know ('[bk_process_id: 12,34] ...'), those rows fail and the rest go again at once.
 */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import type { FieldSpec } from '../../schema/fields.js';
import { buildShape, shapeRow, unknownColumns } from '../../schema/rows.js';
import { idCell } from '../id-cell.js';
import type { CheckedRow, Operation, RowResult, Session } from '../types.js';
import { envelopeError, requireCmdb, WHOLE_REQUEST_CODES } from './common.js';

/** The process fields of the API document (seeds/002), with their JSON types. */
const PROCESS_FIELDS: FieldSpec[] = [
  ...['auto_start'].map((name) => ({ name, type: 'bool' as const })),
  ...['auto_time_gap', 'proc_num', 'priority', 'timeout', 'process_template_id', 'bk_start_check_secs'].map((name) => ({ name, type: 'int' as const })),
  { name: 'bind_info', type: 'json', jsonArray: true },
  { name: 'process_info', type: 'json' },
  ...[
    'bk_func_id', 'bk_func_name', 'bk_process_name', 'bk_supplier_account', 'face_stop_cmd', 'pid_file', 'reload_cmd',
    'restart_cmd', 'start_cmd', 'stop_cmd', 'user', 'work_path', 'description', 'bk_start_param_regex',
  ].map((name) => ({ name, type: 'string' as const, maxLength: 2000 })),
];

const NAMED_IDS = /\[bk_process_id:\s*([\d,\s]+)\]/;

export const updateProcess: Operation = {
  command: 'update-process',
  api: 'update_process_instance',
  service: 'cmdb',
  maxBatch: 100,
  defaultBatch: 100,
  atomic: true,
  unclear: 'resend',
  async setup(ctx) {
    const biz = ctx.options.biz;
    if (!biz || !Number.isInteger(biz) || biz <= 0) throw new UsageError('--biz <bk_biz_id> is required: the business the processes belong to', 'for example --biz 2');
    const shape = buildShape(PROCESS_FIELDS, {
      control: ['bk_process_id', 'bk_biz_id'],
      allowUnknown: ctx.options.noSchema,
      empty: ctx.options.empty,
      hints: ctx.source.hints,
      what: 'processes (update_process_instance)',
    });
    const isText = ctx.source.format === 'csv';
    const session: Session = {
      required: [{ column: 'bk_process_id', why: 'every row must say which process to update' }],
      checkColumns: (columns) => unknownColumns(shape, columns),
      check(rec: InputRecord): CheckedRow {
        const { payload, errors } = shapeRow(shape, rec.values, isText, isText);
        const id = idCell(rec.values, 'bk_process_id', isText, 'the process to update');
        if (id.error) errors.unshift(id.error);
        const rowBiz = rec.values.bk_biz_id;
        if (rowBiz !== undefined && rowBiz !== '' && Number(rowBiz) !== biz) {
          errors.push({ field: 'bk_biz_id', value: rowBiz, message: `bk_biz_id ${rowBiz} differs from --biz ${biz}` });
        }
        if (errors.length === 0 && Object.keys(payload).length === 0) errors.push({ message: 'nothing to update: the row has no field besides bk_process_id' });
        return { row: rec.row, values: rec.values, payload: { ...payload, bk_process_id: id.id }, group: '', errors };
      },
      async send(rows, signal) {
        const env = await requireCmdb(ctx).call('update_process_instance', { bk_biz_id: biz, processes: rows.map((r) => r.payload) }, { idempotent: true, signal });
        if (env.result) {
          const updated = new Set((Array.isArray(env.data) ? env.data : []).map(Number));
          const results: RowResult[] = rows.map((r) => {
            const id = r.payload.bk_process_id as number;
            return updated.has(id) ? { ok: true, id } : { ok: false, code: 'protocol', error: `the server did not list process ${id} as updated; outcome unknown` };
          });
          return { kind: 'rows', results };
        }
        const named = NAMED_IDS.exec(env.message ?? '');
        if (named) {
          const bad = new Set(named[1]!.split(',').map((s) => Number(s.trim())));
          const idx = rows.flatMap((r, i) => (bad.has(r.payload.bk_process_id as number) ? [i] : []));
          if (idx.length) return { kind: 'rejected', code: env.code, message: envelopeError(env), named: idx, splittable: false };
        }
        return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: !WHOLE_REQUEST_CODES.has(env.code) };
      },
      describe: () => [`business ${biz}; batches are all-or-nothing: unknown ids named by the server fail alone, other refusals are split`],
    };
    return session;
  },
};
