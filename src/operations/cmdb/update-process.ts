/**
 * update-process → update_process_instance: all or nothing, at most 100 a request. The server does not update only
 * the fields sent: it decodes each item into its Process struct and, for a process without a template, writes the
 * whole struct, so every field the item leaves out becomes null (bk-cmdb proc_server service/processinstance.go
 * updateProcessInstances). So the tool reads the processes first (list_process_related_info: the values and the
 * template of each) and sends every row merged over what is there: only the file's columns change. Fields the
 * struct lacks, or a template locks, would be ignored by the server, so they are refused before anything is sent.
 */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import type { FieldSpec } from '../../schema/fields.js';
import { buildShape, shapeRow, unknownColumns } from '../../schema/rows.js';
import { idCell } from '../id-cell.js';
import type { CheckedRow, Operation, RowResult, Session } from '../types.js';
import { envelopeError, requireCmdb, WHOLE_REQUEST_CODES } from './common.js';
import { ProcessReader, type CurrentProcess } from './process-reader.js';
import { cellsAreText } from '../../input/index.js';

/** The fields of the server's Process struct a row may change (metadata.Process, src/common/metadata/process.go). */
const PROCESS_FIELDS: FieldSpec[] = [
  { name: 'auto_start', type: 'bool' },
  ...['proc_num', 'priority', 'timeout', 'bk_start_check_secs'].map((name) => ({ name, type: 'int' as const })),
  { name: 'bind_info', type: 'json', jsonArray: true },
  ...[
    'bk_func_name', 'bk_process_name', 'face_stop_cmd', 'pid_file', 'reload_cmd', 'restart_cmd', 'start_cmd', 'stop_cmd',
    'user', 'work_path', 'description', 'bk_start_param_regex',
  ].map((name) => ({ name, type: 'longchar' as const })),
];

/** Columns the server would drop without a word, and why. */
const IGNORED: Record<string, string> = {
  auto_time_gap: 'the server\'s Process struct has no such field, so update_process_instance ignores it',
  process_template_id: 'the server\'s Process struct has no such field (a process\'s template cannot be changed here)',
  bk_func_id: 'the server\'s Process struct has no such field, so update_process_instance ignores it',
  process_info: 'the server\'s Process struct has no such field, so update_process_instance ignores it',
  bk_supplier_account: 'the server removes it from every process update',
};

const ignoredMessage = (c: string) => `column "${c}" cannot be updated: ${IGNORED[c]}`;

const NAMED_IDS = /\[bk_process_id:\s*([\d,\s]+)\]/;

/** A value for the report: short, one line. */
function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v ?? null);
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Each change of a row, "user "root" → "app"", or that nothing changes. */
function changes(current: Record<string, unknown>, updates: Record<string, unknown>): string {
  const changed = Object.entries(updates).filter(([k, v]) => !same(current[k], v)).map(([k, v]) => `${k} ${show(current[k])} → ${show(v)}`);
  return changed.length ? `changed: ${changed.join(', ')}` : 'no change: the process already has these values';
}

/**
 * The item to send: every struct field the server writes, as the process has it, with the row's fields over it
 * (a field the process holds no value for stays null, as it is stored). Unchecked columns (--no-schema) go as given.
 */
function merged(id: number, current: Record<string, unknown>, updates: Record<string, unknown>): Record<string, unknown> {
  const item: Record<string, unknown> = { bk_process_id: id };
  for (const f of PROCESS_FIELDS) item[f.name] = current[f.name] ?? null;
  return Object.assign(item, updates);
}

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
    const isText = cellsAreText(ctx.source);
    const reader = ctx.cmdb ? new ProcessReader(requireCmdb(ctx), biz, ctx.signal) : undefined;

    const session: Session = {
      required: [{ column: 'bk_process_id', why: 'every row must say which process to update' }],
      checkColumns(columns) {
        const errs = unknownColumns(shape, columns.filter((c) => !(c in IGNORED)));
        for (const c of columns) if (c in IGNORED) errs.push({ field: c, message: ignoredMessage(c) });
        return errs;
      },
      check(rec: InputRecord): CheckedRow {
        const known = Object.fromEntries(Object.entries(rec.values).filter(([k]) => !(k in IGNORED)));
        const { payload, errors } = shapeRow(shape, known, isText, isText);
        if (!isText) for (const k of Object.keys(rec.values)) if (k in IGNORED) errors.push({ field: k, message: ignoredMessage(k) });
        const id = idCell(rec.values, 'bk_process_id', isText, 'the process to update');
        if (id.error) errors.unshift(id.error);
        const rowBiz = rec.values.bk_biz_id;
        if (rowBiz !== undefined && rowBiz !== '' && Number(rowBiz) !== biz) {
          errors.push({ field: 'bk_biz_id', value: rowBiz, message: `bk_biz_id ${rowBiz} differs from --biz ${biz}` });
        }
        if (errors.length === 0 && Object.keys(payload).length === 0) errors.push({ message: 'nothing to update: the row has no field besides bk_process_id' });
        return { row: rec.row, values: rec.values, payload: { updates: payload, bk_process_id: id.id }, group: '', errors };
      },
      async resolve(rows) {
        if (!reader) return;
        const ids = rows.map((r) => r.payload.bk_process_id).filter((id): id is number => typeof id === 'number');
        const current = await reader.read(ids);
        for (const r of rows) {
          const id = r.payload.bk_process_id;
          if (typeof id !== 'number') continue;
          const found = current.get(id);
          if (!found) {
            r.errors.push({ field: 'bk_process_id', value: id, message: `bk_process_id: business ${biz} has no process ${id} (list_process_related_info found none)` });
            continue;
          }
          prepare(r, id, found);
        }
      },
      async send(rows, signal) {
        const items = rows.map((r) => {
          // Only merged items are ever sent: the changed columns alone would null every other field.
          if (!r.payload.item) throw new Error(`internal: process ${String(r.payload.bk_process_id)} was not read before sending`);
          return r.payload.item;
        });
        const env = await requireCmdb(ctx).call('update_process_instance', { bk_biz_id: biz, processes: items }, { idempotent: true, signal });
        if (env.result) {
          const updated = new Set(env.data);
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
      describe: () => [
        `business ${biz}; each row is merged over the process as it is (read with list_process_related_info), so only the file's columns change`,
        'batches are all-or-nothing: unknown ids named by the server fail alone, other refusals are split',
      ],
    };

    /** Checks a row against its process and its template, then builds the item to send and the report's detail. */
    function prepare(r: CheckedRow, id: number, found: CurrentProcess): void {
      const updates = r.payload.updates as Record<string, unknown>;
      const locked = Object.keys(updates).filter((f) => found.locked.includes(f));
      for (const f of locked) {
        r.errors.push({ field: f, message: `${f} is locked by process template ${found.template!.id} ("${found.template!.name}"): the server would ignore it; change it in the template` });
      }
      const item = merged(id, found.process, updates);
      if (!found.template && (item.bk_process_name === null || item.bk_process_name === '')) {
        r.errors.push({ field: 'bk_process_name', message: `bk_process_name is required: process ${id} has none and the row gives none` });
      }
      if (locked.length) return;
      r.payload.item = item;
      r.detail = [r.detail, changes(found.process, updates)].filter(Boolean).join('; ');
    }
    return session;
  },
};

