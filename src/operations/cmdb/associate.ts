/**
 * associate → batch_create_instance_association: every row on its own, index-keyed answers like create.
 * Rows of different association kinds never share a batch. Instances may be named by a unique field
 * (--key / --asst-key) instead of their ids.
 */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import { compileField } from '../../schema/fields.js';
import { didYouMean } from '../../schema/fields.js';
import type { FieldError } from '../../schema/rows.js';
import type { CheckedRow, Operation, OperationContext, Session } from '../types.js';
import { envelopeError, keyText, KeyResolver, readCreateMaps, requireCmdb, resolveKeyColumn } from './common.js';

interface Kind {
  id: string;
  obj: string;
  asstObj: string;
  mapping: string;
}

const checkId = compileField({ name: 'id', type: 'id' });
const KNOWN_COLUMNS = ['bk_inst_id', 'bk_asst_inst_id', 'bk_obj_asst_id', 'bk_obj_id', 'bk_asst_obj_id'];

/** The column that holds the target's key value: asst_<key>, or bk_asst_<key without bk_> (bk_asst_inst_name). */
export function asstKeyColumn(key: string, columns: string[] | null): string {
  const short = `bk_asst_${key.replace(/^bk_/, '')}`;
  if (columns?.includes(short) && !columns.includes(`asst_${key}`)) return short;
  return `asst_${key}`;
}

async function findKind(ctx: OperationContext, id: string): Promise<Kind | undefined> {
  const env = await requireCmdb(ctx).call('find_object_association', { condition: { bk_obj_asst_id: id } }, { idempotent: true, signal: ctx.signal });
  if (!env.result) throw new UsageError(`cannot look up association kind "${id}": ${envelopeError(env)}`);
  const found = (Array.isArray(env.data) ? env.data : []).find((k: Record<string, unknown>) => k.bk_obj_asst_id === id);
  return found ? { id, obj: String(found.bk_obj_id), asstObj: String(found.bk_asst_obj_id), mapping: String(found.mapping ?? 'n:n') } : undefined;
}

/** The server refuses a whole batch (1199006) when the kind id does not start with the source and end with the target. */
function prefixProblem(k: { id: string; obj: string; asstObj: string }): string | undefined {
  if (!k.id.startsWith(`${k.obj}_`) || !k.id.endsWith(`_${k.asstObj}`)) {
    return `association kind "${k.id}" must start with "${k.obj}_" and end with "_${k.asstObj}" (bk_obj_id ${k.obj}, bk_asst_obj_id ${k.asstObj})`;
  }
  return undefined;
}

export const associate: Operation = {
  command: 'associate',
  api: 'batch_create_instance_association',
  service: 'cmdb',
  maxBatch: 200,
  defaultBatch: 200,
  atomic: false,
  idempotent: false,
  async setup(ctx) {
    const o = ctx.options;
    const kinds = new Map<string, Kind | null>();
    const lookupKind = async (id: string) => {
      if (!kinds.has(id)) {
        const k = ctx.options.noSchema && o.obj && o.asstObj && id === o.asstId ? { id, obj: o.obj, asstObj: o.asstObj, mapping: '?' } : await findKind(ctx, id);
        kinds.set(id, k ? { ...k, obj: (id === o.asstId && o.obj) || k.obj, asstObj: (id === o.asstId && o.asstObj) || k.asstObj } : null);
      }
      return kinds.get(id)!;
    };
    if (o.asstId) {
      const k = await lookupKind(o.asstId);
      if (!k) throw new UsageError(`association kind "${o.asstId}" does not exist (find_object_association found nothing)`, 'check --asst-id: it is the bk_obj_asst_id, e.g. bk_switch_connect_host');
      const p = prefixProblem(k);
      if (p) throw new UsageError(p, 'check --obj / --asst-obj / --asst-id');
    }
    const cols = ctx.source.columns;
    const srcCol = o.key ?? 'bk_inst_id';
    const dstCol = o.asstKey ? asstKeyColumn(o.asstKey, cols) : 'bk_asst_inst_id';
    const isText = ctx.source.format === 'csv';
    const resolvers = new Map<string, KeyResolver>();
    const resolverFor = (obj: string, key: string) => {
      const k = `${obj}\u0000${key}`;
      if (!resolvers.has(k)) resolvers.set(k, new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal));
      return resolvers.get(k)!;
    };

    const idOrKey = (values: Record<string, unknown>, col: string, byKey: boolean, errors: FieldError[]): unknown => {
      const raw = values[col];
      if (byKey) {
        const t = keyText(raw);
        if (t === undefined) errors.push({ field: col, message: `${col} is empty: it names the instance to associate` });
        return t;
      }
      if (raw === undefined || raw === '' || raw === null) {
        errors.push({ field: col, message: `${col} is required` });
        return undefined;
      }
      const r = checkId(raw, isText);
      if (r.error !== undefined) errors.push({ field: col, value: raw, message: `${col}: ${r.error} (ids must be > 0)` });
      return r.value;
    };

    const session: Session = {
      uniqueKey: 'the pair of instances',
      checkColumns(columns) {
        const known = new Set([...KNOWN_COLUMNS, srcCol, dstCol]);
        const errs: FieldError[] = columns
          .filter((c) => !known.has(c) && c !== '_error')
          .map((c) => {
            const near = didYouMean(c, known);
            return { field: c, message: `unknown column "${c}"${near ? ` (did you mean "${near}"?)` : ''}` };
          });
        for (const c of [srcCol, dstCol]) if (!columns.includes(c)) errs.push({ field: c, message: `column "${c}" is missing` });
        if (!o.asstId && !columns.includes('bk_obj_asst_id')) errs.push({ field: 'bk_obj_asst_id', message: 'no association kind: give --asst-id or a bk_obj_asst_id column' });
        return errs;
      },
      check(rec: InputRecord): CheckedRow {
        const v = rec.values;
        if (rec.error) return { row: rec.row, values: v, payload: {}, group: '', errors: [{ message: rec.error }] };
        const errors: FieldError[] = [];
        const kindId = keyText(v.bk_obj_asst_id) ?? o.asstId;
        if (!kindId) errors.push({ field: 'bk_obj_asst_id', message: 'bk_obj_asst_id is empty and no --asst-id was given' });
        const payload: Record<string, unknown> = {
          bk_inst_id: idOrKey(v, srcCol, !!o.key, errors),
          bk_asst_inst_id: idOrKey(v, dstCol, !!o.asstKey, errors),
        };
        if (!isText) for (const k in v) if (!KNOWN_COLUMNS.includes(k) && k !== srcCol && k !== dstCol && k !== '_error') errors.push({ field: k, message: `unknown field "${k}"` });
        return { row: rec.row, values: v, payload, group: kindId ?? '', errors };
      },
      async resolve(rows) {
        // Association kinds the rows name: look each up once; check the prefix rule and the row's own obj columns.
        for (const r of rows) {
          if (r.errors.length || !r.group) continue;
          const k = await lookupKind(r.group);
          if (!k) {
            r.errors.push({ field: 'bk_obj_asst_id', value: r.group, message: `association kind "${r.group}" does not exist` });
            continue;
          }
          const rowObj = keyText(r.values.bk_obj_id);
          const rowAsst = keyText(r.values.bk_asst_obj_id);
          if (rowObj && rowObj !== k.obj) r.errors.push({ field: 'bk_obj_id', value: rowObj, message: `bk_obj_id ${rowObj} does not match association kind ${k.id} (source ${k.obj})` });
          if (rowAsst && rowAsst !== k.asstObj) r.errors.push({ field: 'bk_asst_obj_id', value: rowAsst, message: `bk_asst_obj_id ${rowAsst} does not match association kind ${k.id} (target ${k.asstObj})` });
          const p = prefixProblem(k);
          if (p) r.errors.push({ field: 'bk_obj_asst_id', message: p });
        }
        if (!o.key && !o.asstKey) return;
        const byKind = new Map<string, CheckedRow[]>();
        for (const r of rows) if (!r.errors.length) byKind.set(r.group, [...(byKind.get(r.group) ?? []), r]);
        for (const [id, list] of byKind) {
          const k = kinds.get(id)!;
          if (o.key) await resolveKeyColumn(list, resolverFor(k.obj, o.key), srcCol, 'bk_inst_id');
          if (o.asstKey) await resolveKeyColumn(list.filter((r) => !r.errors.length), resolverFor(k.asstObj, o.asstKey), dstCol, 'bk_asst_inst_id');
        }
      },
      async send(rows, signal) {
        const k = kinds.get(rows[0]!.group)!;
        const env = await requireCmdb(ctx).call(
          'batch_create_instance_association',
          { bk_obj_id: k.obj, bk_asst_obj_id: k.asstObj, bk_obj_asst_id: k.id, details: rows.map((r) => ({ bk_inst_id: r.payload.bk_inst_id, bk_asst_inst_id: r.payload.bk_asst_inst_id })) },
          { idempotent: false, signal },
        );
        if (!env.result) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
        return { kind: 'rows', results: readCreateMaps(env, rows.length, { alreadyExistsIsOk: true }) };
      },
      async findExisting(rows, signal) {
        const k = kinds.get(rows[0]!.group)!;
        const env = await requireCmdb(ctx).call(
          'find_instance_association',
          { bk_obj_id: k.obj, condition: { bk_obj_asst_id: k.id, bk_asst_obj_id: k.asstObj, bk_inst_id: { $in: [...new Set(rows.map((r) => r.payload.bk_inst_id))] } } },
          { idempotent: true, signal },
        );
        if (!env.result) throw new Error(envelopeError(env));
        const pairs = new Map<string, number>();
        for (const a of (Array.isArray(env.data) ? env.data : []) as Record<string, unknown>[]) pairs.set(`${a.bk_inst_id}:${a.bk_asst_inst_id}`, Number(a.id));
        return rows.map((r) => pairs.get(`${r.payload.bk_inst_id}:${r.payload.bk_asst_inst_id}`) ?? null);
      },
      describe: () => [
        ...[...kinds.values()].filter((k): k is Kind => !!k).map((k) => `association kind ${k.id}: ${k.obj} → ${k.asstObj} (${k.mapping})`),
        ...(o.key ? [`source instances named by ${o.key} (column ${srcCol})`] : []),
        ...(o.asstKey ? [`target instances named by ${o.asstKey} (column ${dstCol})`] : []),
      ],
    };
    return session;
  },
};
