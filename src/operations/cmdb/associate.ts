/**
 * associate → batch_create_instance_association: every row on its own, index-keyed answers like create.
 * Rows of different association kinds never share a batch. Instances may be named by a unique field
 * (--key / --asst-key) instead of their ids, or as CMDB's association sheet names them (src_primary_key /
 * dst_primary_key: "display name=value" pairs, primary-keys.ts).
 */
import { UsageError } from '../../core/errors.js';
import type { InputRecord } from '../../core/types.js';
import { compileField } from '../../schema/fields.js';
import { didYouMean } from '../../schema/fields.js';
import { BUILTIN_MODELS, type CmdbAttribute } from '../../schema/model.js';
import type { FieldError } from '../../schema/rows.js';
import type { CmdbEnvelope } from '../../http/cmdb.js';
import type { BatchVerdict, CheckedRow, Operation, OperationContext, Reconciled, Session } from '../types.js';
import { cellsAreText } from '../../input/index.js';
import {
  envelopeError, fetchAttributes, keyText, KeyResolver, newTally, readCreateMaps, requireCmdb,
  resolveKeyColumn, tallyLine, type KeyTally,
} from './common.js';
import { checkKey, fetchUniqueRules } from './unique.js';
import { parsePrimary, PrimaryResolver } from './primary-keys.js';

interface Kind {
  id: string;
  obj: string;
  asstObj: string;
  mapping: string;
  /** Why rows of this kind cannot be sent (it does not exist, breaks the prefix rule, a key is not a field...). */
  problem?: string;
}

const checkId = compileField({ name: 'id', type: 'id' });
/** Columns besides the two that name the instances (`operate`: CMDB's association sheet, add or delete). */
const KIND_COLUMNS = ['bk_obj_asst_id', 'bk_obj_id', 'bk_asst_obj_id', 'operate', '_error'];
/** The source and target as CMDB's association sheet names them (common/metadata/webserver.go ExcelAssociation). */
export const SRC_PRIMARY = 'src_primary_key';
export const DST_PRIMARY = 'dst_primary_key';

/**
 * The two names a target key column may have: asst_<key> (asst_bk_host_innerip), and the CMDB-style short form
 * bk_asst_<key without bk_> (bk_asst_host_innerip, bk_asst_inst_name, like bk_asst_inst_id).
 */
export function asstKeyColumns(key: string): [long: string, short: string] {
  return [`asst_${key}`, `bk_asst_${key.replace(/^bk_/, '')}`];
}

/** The column that holds the target's key value: asst_<key>, or bk_asst_<key without bk_> when only that is there. */
export function asstKeyColumn(key: string, columns: Iterable<string> | null): string {
  const [long, short] = asstKeyColumns(key);
  const have = new Set(columns ?? []);
  return have.has(short) && !have.has(long) ? short : long;
}

async function findKind(ctx: OperationContext, id: string): Promise<Omit<Kind, 'problem'> | undefined> {
  const env = await requireCmdb(ctx).call('find_object_association', { condition: { bk_obj_asst_id: id } }, { idempotent: true, signal: ctx.signal });
  if (!env.result) throw new UsageError(`cannot look up association kind "${id}": ${envelopeError(env)}`);
  const found = env.data.find((k) => k.bk_obj_asst_id === id);
  return found ? { id, obj: found.bk_obj_id, asstObj: found.bk_asst_obj_id, mapping: found.mapping ?? 'n:n' } : undefined;
}

/** The server refuses a whole batch (1199006) when the kind id does not start with the source and end with the target. */
export function prefixProblem(k: { id: string; obj: string; asstObj: string }): string | undefined {
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
  unclear: 'reconcile',
  async setup(ctx) {
    const o = ctx.options;
    // Without a connection (--dry-run --no-schema) nothing can be looked up: kinds come from the flags or the row's
    // bk_obj_id / bk_asst_obj_id columns, and keys stay unresolved.
    const online = !!ctx.cmdb;
    const kinds = new Map<string, Kind>();
    const attrCache = new Map<string, Promise<CmdbAttribute[]>>();
    const numericKey = new Map<string, boolean>();
    const notes = new Set<string>();

    /** Problems of naming instances of `obj` by `key` (not a field of the model); notes go to the user once. */
    const keyProblem = async (obj: string, key: string, flag: string): Promise<string | undefined> => {
      if (o.noSchema || !online) return undefined;
      if (BUILTIN_MODELS.has(obj) && obj !== 'host') {
        return `${flag} ${key}: ${obj} instances cannot be looked up by a field (search_object_instances refuses built-in models, code 1199084); name them by id`;
      }
      if (!attrCache.has(obj)) attrCache.set(obj, fetchAttributes(ctx, obj));
      const attrs = await attrCache.get(obj)!;
      const c = checkKey(attrs, await fetchUniqueRules(ctx, obj, attrs), obj, key);
      numericKey.set(`${obj}\u0000${key}`, c.numeric);
      if (c.note && !notes.has(c.note)) {
        notes.add(c.note);
        ctx.info(c.note);
      }
      return c.problem && `${flag} ${key}: ${c.problem}`;
    };

    const lookupKind = async (id: string, row?: Record<string, unknown>): Promise<Kind> => {
      const known = kinds.get(id);
      if (known) return known;
      const flagged = id === o.asstId;
      const given = { obj: flagged ? o.obj : keyText(row?.bk_obj_id), asstObj: flagged ? o.asstObj : keyText(row?.bk_asst_obj_id) };
      let k: Kind;
      if ((!online || (o.noSchema && flagged)) && given.obj && given.asstObj) {
        k = { id, obj: given.obj, asstObj: given.asstObj, mapping: '?' };
      } else if (!online) {
        k = { id, obj: '', asstObj: '', mapping: '?', problem: `association kind "${id}" cannot be looked up without a server connection: give --obj and --asst-obj (or bk_obj_id and bk_asst_obj_id columns)` };
      } else {
        const found = await findKind(ctx, id);
        if (!found) {
          k = { id, obj: '', asstObj: '', mapping: '?', problem: `association kind "${id}" does not exist (find_object_association found nothing)` };
        } else {
          k = { ...found };
          // --obj / --asst-obj that contradict the kind: the server would refuse every batch (1199006).
          if (flagged && o.obj && o.obj !== found.obj) k.problem = `--obj ${o.obj} does not match association kind ${id} (its source model is ${found.obj})`;
          else if (flagged && o.asstObj && o.asstObj !== found.asstObj) k.problem = `--asst-obj ${o.asstObj} does not match association kind ${id} (its target model is ${found.asstObj})`;
        }
      }
      if (!k.problem) k.problem = prefixProblem(k);
      if (!k.problem && o.key) k.problem = await keyProblem(k.obj, o.key, '--key');
      if (!k.problem && o.asstKey) k.problem = await keyProblem(k.asstObj, o.asstKey, '--asst-key');
      kinds.set(id, k);
      return k;
    };

    if (o.asstId) {
      const k = await lookupKind(o.asstId);
      if (k.problem) throw new UsageError(k.problem, 'check --asst-id (the bk_obj_asst_id, e.g. bk_switch_connect_host), --obj, --asst-obj, --key and --asst-key');
    }

    const isText = cellsAreText(ctx.source);
    const has = (values: Record<string, unknown> | null, c: string) => (values ? Object.hasOwn(values, c) : !!ctx.source.columns?.includes(c));
    // CSV: the header decides the key columns once; JSON: each record may use either name. Without --key /
    // --asst-key, a src_primary_key / dst_primary_key column (CMDB's association sheet) names the instance.
    const srcColFor = (values: Record<string, unknown> | null): string => o.key ?? (has(values, SRC_PRIMARY) ? SRC_PRIMARY : 'bk_inst_id');
    const dstColFor = (values: Record<string, unknown> | null): string => {
      if (!o.asstKey) return has(values, DST_PRIMARY) ? DST_PRIMARY : 'bk_asst_inst_id';
      return asstKeyColumn(o.asstKey, values ? Object.keys(values) : ctx.source.columns);
    };
    const headerSrc = srcColFor(null);
    const headerDst = dstColFor(null);

    const resolvers = new Map<string, KeyResolver>();
    const tallies = new Map<string, KeyTally>();
    const resolverFor = (obj: string, key: string) => {
      const k = `${obj}\u0000${key}`;
      if (!resolvers.has(k)) resolvers.set(k, new KeyResolver(requireCmdb(ctx), obj, key, ctx.signal, undefined, numericKey.get(k)));
      return resolvers.get(k)!;
    };
    const primaries = new Map<string, Promise<PrimaryResolver>>();
    const primaryFor = (obj: string): Promise<PrimaryResolver> => {
      if (!primaries.has(obj)) {
        if (!attrCache.has(obj)) attrCache.set(obj, fetchAttributes(ctx, obj));
        primaries.set(obj, attrCache.get(obj)!.then((attrs) => new PrimaryResolver(requireCmdb(ctx), obj, attrs, ctx.signal)));
      }
      return primaries.get(obj)!;
    };
    const tallyFor = (column: string) => {
      if (!tallies.has(column)) tallies.set(column, newTally());
      return tallies.get(column)!;
    };

    const idOrKey = (values: Record<string, unknown>, col: string, byKey: boolean, errors: FieldError[]): unknown => {
      const raw = values[col];
      if (col === SRC_PRIMARY || col === DST_PRIMARY) {
        const t = keyText(raw);
        if (t === undefined) errors.push({ field: col, message: `${col} is empty: it names the instance to associate (e.g. 实例名=sw-01)` });
        else if (typeof parsePrimary(t) === 'string') errors.push({ field: col, value: t, message: `${col}: ${parsePrimary(t) as string}` });
        return t;
      }
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

    /** A column the rows may not carry; a second way of naming an instance would be ignored silently, so it is refused. */
    const unknownColumn = (c: string, src: string, dst: string): string => {
      if ((c === 'bk_inst_id' || c === SRC_PRIMARY) && src !== c) {
        return `column "${c}" cannot be used with ${o.key ? `--key ${o.key}` : `column "${src}"`}: the source is named by ${src}; drop one of them`;
      }
      if ((c === 'bk_asst_inst_id' || c === DST_PRIMARY) && dst !== c) {
        return `column "${c}" cannot be used with ${o.asstKey ? `--asst-key ${o.asstKey}` : `column "${dst}"`}: the target is named by ${dst}; drop one of them`;
      }
      const near = didYouMean(c, [...KIND_COLUMNS, src, dst]);
      return `unknown column "${c}"${near ? ` (did you mean "${near}"?)` : ''}`;
    };
    const isKnown = (c: string, src: string, dst: string) => c === src || c === dst || KIND_COLUMNS.includes(c);

    const session: Session = {
      uniqueKey: 'the pair of instances',
      checkColumns(columns) {
        const errs: FieldError[] = columns.filter((c) => !isKnown(c, headerSrc, headerDst)).map((c) => ({ field: c, message: unknownColumn(c, headerSrc, headerDst) }));
        if (!columns.includes(headerSrc)) errs.push({ field: headerSrc, message: `column "${headerSrc}" is missing${o.key ? ` (--key ${o.key}: the column holds the source instance's ${o.key})` : ''}` });
        if (!columns.includes(headerDst)) {
          const names = o.asstKey ? asstKeyColumns(o.asstKey).map((n) => `"${n}"`).join(' or ') : '"bk_asst_inst_id"';
          errs.push({ field: headerDst, message: `column ${names} is missing${o.asstKey ? ` (--asst-key ${o.asstKey}: the column holds the target instance's ${o.asstKey})` : ''}` });
        }
        if (!o.asstId && !columns.includes('bk_obj_asst_id')) errs.push({ field: 'bk_obj_asst_id', message: 'no association kind: give --asst-id or a bk_obj_asst_id column' });
        return errs;
      },
      check(rec: InputRecord): CheckedRow {
        const v = rec.values;
        const errors: FieldError[] = [];
        const kindId = keyText(v.bk_obj_asst_id) ?? o.asstId;
        if (!kindId) errors.push({ field: 'bk_obj_asst_id', message: 'bk_obj_asst_id is empty and no --asst-id was given' });
        const srcCol = isText ? headerSrc : srcColFor(v);
        const dstCol = isText ? headerDst : dstColFor(v);
        const payload: Record<string, unknown> = {
          bk_inst_id: idOrKey(v, srcCol, !!o.key, errors),
          bk_asst_inst_id: idOrKey(v, dstCol, !!o.asstKey, errors),
        };
        const op = operateProblem(v.operate);
        if (op) errors.push({ field: 'operate', value: v.operate, message: op });
        if (!isText) for (const k in v) if (!isKnown(k, srcCol, dstCol)) errors.push({ field: k, message: unknownColumn(k, srcCol, dstCol).replace(/^unknown column/, 'unknown field') });
        return { row: rec.row, values: v, payload, group: kindId ?? '', errors };
      },
      async resolve(rows) {
        // Association kinds the rows name: each looked up once; the row's own obj columns must agree with it.
        const byKind = new Map<string, CheckedRow[]>();
        for (const r of rows) {
          if (!r.group) continue;
          const k = await lookupKind(r.group, r.values);
          if (k.problem) {
            r.errors.push({ field: 'bk_obj_asst_id', value: r.group, message: k.problem });
            continue;
          }
          const rowObj = keyText(r.values.bk_obj_id);
          const rowAsst = keyText(r.values.bk_asst_obj_id);
          if (rowObj && rowObj !== k.obj) r.errors.push({ field: 'bk_obj_id', value: rowObj, message: `bk_obj_id ${rowObj} does not match association kind ${k.id} (source ${k.obj})` });
          if (rowAsst && rowAsst !== k.asstObj) r.errors.push({ field: 'bk_asst_obj_id', value: rowAsst, message: `bk_asst_obj_id ${rowAsst} does not match association kind ${k.id} (target ${k.asstObj})` });
          let list = byKind.get(r.group);
          if (!list) byKind.set(r.group, (list = []));
          list.push(r);
        }
        if (!online) return;
        // Both ends are resolved even when one fails, so that the report names every problem of the row.
        for (const [id, list] of byKind) {
          const k = kinds.get(id)!;
          const src = isText ? [[headerSrc, list] as const] : [...groupBy(list, (r) => srcColFor(r.values))];
          for (const [col, part] of src) if (col === SRC_PRIMARY) await (await primaryFor(k.obj)).resolveColumn(part, col, 'bk_inst_id', tallyFor(col));
          const dst = isText ? [[headerDst, list] as const] : [...groupBy(list, (r) => dstColFor(r.values))];
          for (const [col, part] of dst) if (col === DST_PRIMARY) await (await primaryFor(k.asstObj)).resolveColumn(part, col, 'bk_asst_inst_id', tallyFor(col));
          if (o.key) await resolveKeyColumn(list, resolverFor(k.obj, o.key), o.key, 'bk_inst_id', tallyFor(o.key));
          if (o.asstKey) for (const [col, part] of dst) await resolveKeyColumn(part, resolverFor(k.asstObj, o.asstKey), col, 'bk_asst_inst_id', tallyFor(col));
        }
      },
      async send(rows, signal) {
        const k = kinds.get(rows[0]!.group)!;
        const env = await requireCmdb(ctx).call(
          'batch_create_instance_association',
          { bk_obj_id: k.obj, bk_asst_obj_id: k.asstObj, bk_obj_asst_id: k.id, details: rows.map((r) => ({ bk_inst_id: r.payload.bk_inst_id, bk_asst_inst_id: r.payload.bk_asst_inst_id })) },
          { idempotent: false, signal },
        );
        if (env.code === IAM_PARSE_FAILED) return iamRefusal(env, rows, k);
        if (!env.result) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
        return { kind: 'rows', results: readCreateMaps(env, rows.length, { alreadyExistsIsOk: true }) };
      },
      // Applied means "the link exists".
      async reconcile(rows, signal) {
        const k = kinds.get(rows[0]!.group)!;
        const env = await requireCmdb(ctx).call(
          'find_instance_association',
          { bk_obj_id: k.obj, condition: { bk_obj_asst_id: k.id, bk_asst_obj_id: k.asstObj, bk_inst_id: { $in: [...new Set(rows.map((r) => r.payload.bk_inst_id))] } } },
          { idempotent: true, signal },
        );
        if (!env.result) throw new Error(envelopeError(env));
        const pairs = new Map<string, number>();
        for (const a of env.data) pairs.set(`${a.bk_inst_id}:${a.bk_asst_inst_id}`, a.id);
        return rows.map((r): Reconciled => {
          const id = pairs.get(`${r.payload.bk_inst_id}:${r.payload.bk_asst_inst_id}`);
          return id === undefined ? { state: 'not-applied' } : { state: 'applied', id, created: true };
        });
      },
      describe: () => [
        ...[...kinds.values()].filter((k) => !k.problem).map((k) => `association kind ${k.id}: ${k.obj} → ${k.asstObj} (${k.mapping === '?' ? 'mapping not looked up' : k.mapping})`),
        ...[...kinds.values()].filter((k) => k.problem).map((k) => `association kind ${k.id}: ${k.problem}`),
        ...(o.key ? [`source instances named by ${o.key} (column ${o.key})`] : []),
        ...(headerSrc === SRC_PRIMARY || tallies.has(SRC_PRIMARY) ? [`source instances named by ${SRC_PRIMARY} (field=value pairs, as CMDB's association sheet writes them)`] : []),
        ...(headerDst === DST_PRIMARY || tallies.has(DST_PRIMARY) ? [`target instances named by ${DST_PRIMARY} (field=value pairs)`] : []),
        ...(o.asstKey ? [`target instances named by ${o.asstKey} (column ${isText ? headerDst : asstKeyColumns(o.asstKey).join(' or ')})`] : []),
        ...(o.key || o.asstKey || headerSrc === SRC_PRIMARY || headerDst === DST_PRIMARY || tallies.size
          ? (online ? [...tallies].map(([col, t]) => tallyLine(col, t)) : ['keys not resolved: no server connection'])
          : []),
      ],
    };
    return session;
  },
};

/**
 * With IAM on, CMDB's apiserver parses the whole batch before CMDB sees it and refuses all of it (1199045) at the first
 * host id that has no host-module relation — unknown, or not placed — in the parser's words: "host 999 has no
 * relations" (ac/parser/topolatest.go, ac/parser/util.go generateUpdateInstanceResource, apiserver/service/filter.go).
 * The rows naming that host fail alone and the rest go again; without a named host the batch is bisected.
 */
const IAM_PARSE_FAILED = 1199045;
const NAMED_HOST = /host (\d+) has no relations/;

function iamRefusal(env: CmdbEnvelope, rows: CheckedRow[], k: Kind): BatchVerdict {
  const host = Number(NAMED_HOST.exec(env.message)?.[1]);
  const names = (r: CheckedRow) => (k.obj === 'host' && r.payload.bk_inst_id === host) || (k.asstObj === 'host' && r.payload.bk_asst_inst_id === host);
  const named = Number.isInteger(host) ? rows.flatMap((r, i) => (names(r) ? [i] : [])) : [];
  const message = named.length
    ? `host ${host} is unknown or not placed in a business (CMDB's permission check refused the whole batch for it: ${envelopeError(env)}); the other rows were sent again`
    : envelopeError(env);
  return named.length ? { kind: 'rejected', code: env.code, message, named, splittable: false } : { kind: 'rejected', code: env.code, message, splittable: true };
}

/**
 * CMDB's association sheet says per row what to do: "add" or "delete" (web_server/service/excel/core/const.go
 * AsstOps). associate creates; an empty cell (CMDB's export leaves it empty) is taken as add.
 */
function operateProblem(v: unknown): string | undefined {
  const op = keyText(v)?.toLowerCase();
  if (op === undefined || op === 'add') return undefined;
  if (op === 'delete') return 'operate is "delete": associate only creates associations; delete this one in CMDB (its UI imports the sheet and deletes the "delete" rows), or remove the row';
  return `operate "${String(v)}" is neither add nor delete (the operations of CMDB's association sheet); associate creates: write add or leave it empty`;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    let list = m.get(k);
    if (!list) m.set(k, (list = []));
    list.push(it);
  }
  return m;
}
