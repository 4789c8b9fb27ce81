/**
 * CMDB operation semantics (api-notes.md §2), independent of the front door.
 * Each handler takes the request body (path variables already merged in) and
 * returns the envelope fields; index.ts wraps them for ESB or apigw.
 */
import type { Attribute, InstAssociation, Model, Row, SimStore } from './store.js';
import { BUILTIN_MODELS } from './store.js';
import { checkValue, isEmptyValue, type FieldError } from './validate.js';
import { cmdbMessage, rowError, type Lang } from './messages.js';

export interface CmdbCtx {
  store: SimStore;
  lang: Lang;
  user: string;
  /** The user may not write (forbiddenUsers). */
  forbidden: boolean;
  door: 'esb' | 'apigw';
}

export interface CmdbResult {
  code: number;
  message?: string;
  data?: unknown;
  permission?: unknown;
  /** A filter-level error of search_object_instances (apigw answers with bk_error_code / bk_error_msg). */
  filterError?: boolean;
  /** Rows created / updated, for the counters. */
  applied?: number;
  /** Rows rejected because the unique value / association already existed. */
  duplicates?: number;
}

export type CmdbHandler = (ctx: CmdbCtx, body: Row) => CmdbResult;

export const CMDB_WRITE_OPS = new Set([
  'batch_create_inst', 'batch_update_inst', 'update_process_instance', 'batch_create_instance_association', 'batch_delete_inst',
]);

const fail = (ctx: CmdbCtx, code: number, ...params: (string | number)[]): CmdbResult => ({ code, message: cmdbMessage(code, ctx.lang, ...params) });
const ok = (data: unknown, applied?: number, duplicates?: number): CmdbResult => ({ code: 0, data, applied, duplicates });
const isObj = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** The `permission` object of a 9900403 answer. */
function permission(actionId: string, actionName: string, resourceType: string, resourceName: string, ids: (string | number)[]): unknown {
  return {
    system_id: 'bk_cmdb',
    system_name: '配置平台',
    actions: [{
      id: actionId,
      name: actionName,
      related_resource_types: [{
        system_id: 'bk_cmdb', system_name: '配置平台', type: resourceType, type_name: resourceName,
        instances: ids.map((id) => [{ type: resourceType, type_name: resourceName, id: String(id), name: String(id) }]),
      }],
    }],
  };
}

function denied(ctx: CmdbCtx, actionId: string, actionName: string, resourceType: string, resourceName: string, ids: (string | number)[]): CmdbResult {
  return { ...fail(ctx, 9900403), permission: permission(actionId, actionName, resourceType, resourceName, ids) };
}

/** Model lookup shared by the instance operations: unknown -> 1101030. */
function model(ctx: CmdbCtx, objId: unknown): Model | CmdbResult {
  if (typeof objId !== 'string' || objId === '') return fail(ctx, 1199006, 'bk_obj_id');
  return ctx.store.models.get(objId) ?? fail(ctx, 1101030, objId);
}

/** Per unique attribute: value -> instance id, built once per request so big stores stay fast. */
function uniqueIndex(m: Model, instances: Map<number, Row>): Map<string, Map<unknown, number>> {
  const idx = new Map<string, Map<unknown, number>>();
  for (const a of m.attributes) {
    if (!a.isonly) continue;
    const values = new Map<unknown, number>();
    for (const [id, r] of instances) if (!isEmptyValue(r[a.bk_property_id])) values.set(r[a.bk_property_id], id);
    idx.set(a.bk_property_id, values);
  }
  return idx;
}

/**
 * batch_create_inst's unique indexes, kept from one create to the next while nothing else changed the instances
 * (store.version): building one per request made a 100,000-row import quadratic — the simulator, not the
 * client, was the bottleneck of the benchmark. Creates keep the index in step with their own inserts.
 */
const createIndexes = new WeakMap<Map<number, Row>, { version: number; unique: Map<string, Map<unknown, number>> }>();

const uniqueText = (a: Attribute, v: unknown) => `${a.bk_property_id}: ${typeof v === 'string' ? v : JSON.stringify(v)}`;

// ---- batch_create_inst ------------------------------------------------------

const batchCreateInst: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (m.builtin) return fail(ctx, 1199084, m.bk_obj_id);
  const details = body.details;
  if (details === undefined || details === null || (Array.isArray(details) && details.length === 0)) return fail(ctx, 1199038, 'details');
  if (!Array.isArray(details)) return fail(ctx, 1199006, 'details');
  if (details.length > 200) return fail(ctx, 1199035, 200);
  if (ctx.forbidden) return denied(ctx, 'create_model_instance', '新建实例', `comobj_${m.bk_obj_id}`, m.bk_obj_id, [m.bk_obj_id]);

  const created: Record<string, number> = {};
  const errors: Record<string, string> = {};
  let duplicates = 0;
  const instances = ctx.store.instanceMap(m.bk_obj_id);
  const cached = createIndexes.get(instances);
  const unique = cached && cached.version === ctx.store.version ? cached.unique : uniqueIndex(m, instances);
  // Rows are independent and applied in order, so a row that repeats an earlier
  // row's unique value fails against the instance that row just created.
  details.forEach((row: unknown, i) => {
    const key = String(i);
    if (!isObj(row)) {
      errors[key] = rowError(1199006, cmdbMessage(1199006, ctx.lang, `details[${i}]`));
      return;
    }
    const fields: Row = {};
    for (const a of m.attributes) {
      const v = row[a.bk_property_id];
      if (isEmptyValue(v)) {
        if (a.isrequired) {
          errors[key] = rowError(1199010, cmdbMessage(1199010, ctx.lang, a.bk_property_id));
          return;
        }
        if (v !== undefined) fields[a.bk_property_id] = v;
        continue;
      }
      const err = checkValue(a, v, ctx.lang);
      if (err) {
        errors[key] = rowError(err.code, err.message);
        return;
      }
      fields[a.bk_property_id] = v;
    }
    for (const a of m.attributes) {
      const v = fields[a.bk_property_id];
      if (!a.isonly || isEmptyValue(v)) continue;
      if (unique.get(a.bk_property_id)!.has(v)) {
        errors[key] = rowError(1199014, cmdbMessage(1199014, ctx.lang, uniqueText(a, v)));
        duplicates++;
        return;
      }
    }
    const id = ctx.store.insert(m.bk_obj_id, fields);
    for (const [p, values] of unique) if (!isEmptyValue(fields[p])) values.set(fields[p], id);
    created[key] = id;
  });
  createIndexes.set(instances, { version: ctx.store.version, unique });
  return ok({ success_created: created, error_msg: errors }, Object.keys(created).length, duplicates);
};

// ---- batch_update_inst ------------------------------------------------------

/** Success data of the "no data" writes: ESB answers "success" (as the docs show), apigw null (as the server does). */
const doneData = (ctx: CmdbCtx) => (ctx.door === 'esb' ? 'success' : null);

const batchUpdateInst: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (m.builtin && m.bk_obj_id !== 'host') return fail(ctx, 1199084, m.bk_obj_id);
  const items = body.update;
  if (!Array.isArray(items)) return fail(ctx, 1199006, 'update');
  const instances = ctx.store.instanceMap(m.bk_obj_id);
  const attrs = new Map(m.attributes.map((a) => [a.bk_property_id, a]));
  const ids = items.map((it: unknown) => (isObj(it) ? it.inst_id : undefined));
  if (ctx.forbidden) return denied(ctx, 'edit_model_instance', '编辑实例', `comobj_${m.bk_obj_id}`, m.bk_obj_id, ids.filter(posInt));

  // Validate everything against the state the batch would produce; the first
  // problem rejects the whole batch and the answer does not say which item.
  const pending = new Map<number, Row>();
  const unique = uniqueIndex(m, instances);
  let dup = 0;
  const check = (): CmdbResult | null => {
    for (const it of items as unknown[]) {
      if (!isObj(it) || !posInt(it.inst_id)) return fail(ctx, 1199006, 'inst_id');
      const current = pending.get(it.inst_id) ?? instances.get(it.inst_id);
      if (!current) return fail(ctx, 1199019);
      if (!isObj(it.datas)) return fail(ctx, 1199006, 'datas');
      const next: Row = { ...current };
      for (const [k, v] of Object.entries(it.datas)) {
        const a = attrs.get(k);
        if (!a || !a.editable) continue; // unknown and non-editable fields are dropped
        if (isEmptyValue(v)) {
          if (a.isrequired) return fail(ctx, 1199010, k);
          next[k] = v;
          continue;
        }
        const err: FieldError | null = checkValue(a, v, ctx.lang);
        if (err) return { code: err.code, message: err.message };
        next[k] = v;
      }
      for (const a of m.attributes) {
        const v = next[a.bk_property_id];
        if (!a.isonly || isEmptyValue(v)) continue;
        const owner = unique.get(a.bk_property_id)!.get(v);
        if (owner !== undefined && owner !== it.inst_id) {
          dup = 1;
          return fail(ctx, 1199014, uniqueText(a, v));
        }
      }
      // Later items are checked against the values this one leaves behind.
      for (const [p, values] of unique) {
        if (values.get(current[p]) === it.inst_id) values.delete(current[p]);
        if (!isEmptyValue(next[p])) values.set(next[p], it.inst_id);
      }
      pending.set(it.inst_id, next);
    }
    return null;
  };
  const err = check();
  if (err) return { ...err, duplicates: dup };
  for (const [id, row] of pending) instances.set(id, row);
  ctx.store.version++;
  return ok(doneData(ctx), items.length);
};

// ---- batch_delete_inst ------------------------------------------------------

const batchDeleteInst: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (m.builtin) return fail(ctx, 1199084, m.bk_obj_id);
  const del = body.delete;
  const ids = isObj(del) ? del.inst_ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0) return fail(ctx, 1199038, 'delete.inst_ids');
  if (!ids.every(posInt)) return fail(ctx, 1199006, 'delete.inst_ids');
  if (ctx.forbidden) return denied(ctx, 'delete_model_instance', '删除实例', `comobj_${m.bk_obj_id}`, m.bk_obj_id, ids);
  const instances = ctx.store.instanceMap(m.bk_obj_id);
  if (ids.some((id) => !instances.has(id))) return fail(ctx, 1199019);
  const linked = (a: InstAssociation) =>
    (a.bk_obj_id === m.bk_obj_id && ids.includes(a.bk_inst_id)) || (a.bk_asst_obj_id === m.bk_obj_id && ids.includes(a.bk_asst_inst_id));
  for (const a of ctx.store.associationMap().values()) if (linked(a)) return fail(ctx, 1101075);
  for (const id of ids) instances.delete(id);
  ctx.store.version++;
  return ok(doneData(ctx), new Set(ids).size);
};

// ---- update_process_instance ------------------------------------------------

const PROC_INT = new Set(['bk_process_id', 'proc_num', 'timeout', 'priority', 'auto_time_gap', 'bk_biz_id', 'process_template_id']);

function procTypeError(k: string, v: unknown): string | null {
  if (v === null) return null;
  if (k === 'auto_start') return typeof v === 'boolean' ? null : 'expected a JSON bool';
  if (PROC_INT.has(k)) return typeof v === 'number' && Number.isInteger(v) ? null : 'expected a JSON integer';
  if (k === 'bind_info') return Array.isArray(v) && v.every(isObj) ? null : 'expected an array of objects';
  return typeof v === 'string' ? null : 'expected a JSON string';
}

const updateProcessInstance: CmdbHandler = (ctx, body) => {
  const biz = body.bk_biz_id;
  if (!posInt(biz)) return fail(ctx, 1199006, 'bk_biz_id');
  const list = body.processes;
  if (!Array.isArray(list)) return fail(ctx, 1199006, 'processes');
  if (list.length > 100) return fail(ctx, 1199035, 100);
  if (list.length === 0) return ok([]);
  if (ctx.forbidden) return denied(ctx, 'edit_business_service_instance', '服务实例编辑', 'biz', '业务', [biz]);
  const procs = ctx.store.processMap();
  for (const p of list as unknown[]) {
    if (!isObj(p) || p.bk_process_id === undefined || p.bk_process_id === 0) return fail(ctx, 1199006, 'bk_process_id');
    if (typeof p.bk_process_id !== 'number' || !Number.isInteger(p.bk_process_id)) {
      return fail(ctx, 1199000, 'bk_process_id', 'expected a JSON integer');
    }
  }
  const missing = (list as Row[]).map((p) => p.bk_process_id as number).filter((id) => procs.get(id)?.bk_biz_id !== biz);
  if (missing.length) return fail(ctx, 1199011, `[bk_process_id: ${[...new Set(missing)].join(',')}]`);
  for (const p of list as Row[]) {
    for (const [k, v] of Object.entries(p)) {
      if (!(k in procs.get(p.bk_process_id as number)!)) continue; // unknown fields are dropped
      const why = procTypeError(k, v);
      if (why) return fail(ctx, 1199000, k, why);
    }
  }
  for (const p of list as Row[]) {
    const cur = procs.get(p.bk_process_id as number)!;
    const next: Row = { ...cur };
    for (const [k, v] of Object.entries(p)) if (k in cur && k !== 'bk_process_id' && k !== 'bk_biz_id') next[k] = structuredClone(v);
    procs.set(cur.bk_process_id as number, next);
  }
  return ok(list.map((p: Row) => p.bk_process_id), list.length);
};

// ---- batch_create_instance_association --------------------------------------

const batchCreateInstanceAssociation: CmdbHandler = (ctx, body) => {
  const details = body.details;
  if (details === undefined || details === null || (Array.isArray(details) && details.length === 0)) return fail(ctx, 1199038, 'details');
  if (!Array.isArray(details)) return fail(ctx, 1199006, 'details');
  if (details.length > 200) return fail(ctx, 1199035, 200);
  const { bk_obj_id: obj, bk_asst_obj_id: asstObj, bk_obj_asst_id: kindId } = body;
  if (typeof obj !== 'string' || obj === '') return fail(ctx, 1199006, 'bk_obj_id');
  if (typeof asstObj !== 'string' || asstObj === '') return fail(ctx, 1199006, 'bk_asst_obj_id');
  if (typeof kindId !== 'string' || !kindId.startsWith(`${obj}_`) || !kindId.endsWith(`_${asstObj}`)) {
    return fail(ctx, 1199006, 'bk_obj_asst_id');
  }
  const kind = ctx.store.objectAssociation(kindId);
  if (!kind) return fail(ctx, 1101046, kindId);
  if (kind.bk_obj_id !== obj || kind.bk_asst_obj_id !== asstObj) return fail(ctx, 1199006, 'bk_obj_asst_id');
  for (const d of details as unknown[]) {
    if (!isObj(d) || typeof d.bk_inst_id !== 'number' || typeof d.bk_asst_inst_id !== 'number') return fail(ctx, 1199006, 'details');
    if (d.bk_inst_id <= 0 || d.bk_asst_inst_id <= 0) return fail(ctx, 1199045, 'details');
  }
  if (ctx.forbidden) return denied(ctx, 'edit_model_instance', '编辑实例', `comobj_${obj}`, obj, (details as Row[]).map((d) => d.bk_inst_id as number));

  const sources = ctx.store.instanceMap(kind.bk_obj_id);
  const targets = ctx.store.instanceMap(kind.bk_asst_obj_id);
  const existing = () => [...ctx.store.associationMap().values()].filter((a) => a.bk_obj_asst_id === kindId);
  const created: Record<string, number> = {};
  const errors: Record<string, string> = {};
  let duplicates = 0;
  (details as Row[]).forEach((d, i) => {
    const src = d.bk_inst_id as number;
    const tgt = d.bk_asst_inst_id as number;
    const err = (code: number) => (errors[String(i)] = rowError(code, cmdbMessage(code, ctx.lang)));
    if (!sources.has(src)) return err(1101073);
    if (!targets.has(tgt)) return err(1101074);
    const same = existing();
    if (same.some((a) => a.bk_inst_id === src && a.bk_asst_inst_id === tgt)) {
      duplicates++;
      return err(1101038);
    }
    if (kind.mapping === '1:1' && same.some((a) => a.bk_inst_id === src || a.bk_asst_inst_id === tgt)) return err(1101052);
    if (kind.mapping === '1:n' && same.some((a) => a.bk_asst_inst_id === tgt)) return err(1101061);
    created[String(i)] = ctx.store.associate(kindId, src, tgt);
  });
  return ok({ success_created: created, error_msg: errors }, Object.keys(created).length, duplicates);
};

// ---- look-ups ---------------------------------------------------------------

const searchObjectAttribute: CmdbHandler = (ctx, body) => {
  if (typeof body.bk_obj_id !== 'string' || body.bk_obj_id === '') return fail(ctx, 1199006, 'bk_obj_id');
  const m = ctx.store.models.get(body.bk_obj_id);
  return ok(m ? structuredClone(m.attributes) : []);
};

type Rule = { field: string; operator: string; value: unknown };
export type Group = { condition: 'AND' | 'OR'; rules: (Rule | Group)[] };
const OPERATORS = new Set(['equal', 'not_equal', 'in', 'not_in', 'less', 'less_or_equal', 'greater', 'greater_or_equal', 'contains', 'exist', 'not_exist']);

/** Returns a reason when the filter is malformed. */
export function checkFilter(g: unknown, path = 'conditions'): string | null {
  if (!isObj(g)) return `${path} must be an object`;
  if (g.condition !== 'AND' && g.condition !== 'OR') return `${path}.condition must be AND or OR`;
  if (!Array.isArray(g.rules)) return `${path}.rules must be an array`;
  for (const [i, r] of (g.rules as unknown[]).entries()) {
    const p = `${path}.rules[${i}]`;
    if (isObj(r) && 'condition' in r) {
      const e = checkFilter(r, p);
      if (e) return e;
      continue;
    }
    if (!isObj(r) || typeof r.field !== 'string' || typeof r.operator !== 'string') return `${p} needs field and operator`;
    if (!OPERATORS.has(r.operator)) return `${p}: unsupported operator ${r.operator}`;
    if ((r.operator === 'in' || r.operator === 'not_in') && !Array.isArray(r.value)) return `${p}: ${r.operator} needs an array value`;
  }
  return null;
}

export function matches(row: Row, g: Group): boolean {
  const test = (r: Rule | Group): boolean => {
    if ('condition' in r) return matches(row, r);
    const v = row[r.field];
    switch (r.operator) {
      case 'equal': return v === r.value;
      case 'not_equal': return v !== r.value;
      case 'in': return (r.value as unknown[]).includes(v);
      case 'not_in': return !(r.value as unknown[]).includes(v);
      case 'less': return (v as number) < (r.value as number);
      case 'less_or_equal': return (v as number) <= (r.value as number);
      case 'greater': return (v as number) > (r.value as number);
      case 'greater_or_equal': return (v as number) >= (r.value as number);
      case 'contains': return typeof v === 'string' && v.includes(String(r.value));
      case 'exist': return v !== undefined;
      case 'not_exist': return v === undefined;
    }
    return false;
  };
  return g.condition === 'AND' ? g.rules.every(test) : g.rules.some(test);
}

const searchObjectInstances: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  const filterFail = (why: string): CmdbResult => ({ code: 1199006, message: `${cmdbMessage(1199006, ctx.lang, 'conditions')}: ${why}`, filterError: true });
  const page = isObj(body.page) ? body.page : {};
  const start = page.start ?? 0;
  const limit = page.limit;
  if (!Number.isInteger(start) || (start as number) < 0) return filterFail('page.start must be an integer >= 0');
  if (!Number.isInteger(limit) || (limit as number) <= 0) return filterFail('page.limit must be an integer between 1 and 500');
  if ((limit as number) > 500) return { ...fail(ctx, 1199035, 500), filterError: true };
  if (body.conditions !== undefined && body.conditions !== null) {
    const why = checkFilter(body.conditions);
    if (why) return filterFail(why);
  }
  const idField = m.idField;
  let rows = [...ctx.store.instanceMap(m.bk_obj_id).values()];
  if (isObj(body.conditions)) rows = rows.filter((r) => matches(r, body.conditions as unknown as Group));
  if (typeof page.sort === 'string' && page.sort !== '') {
    const keys = page.sort.split(',').map((s) => (s.startsWith('-') ? { k: s.slice(1), dir: -1 } : { k: s, dir: 1 }));
    rows.sort((a, b) => {
      for (const { k, dir } of keys) {
        const x = a[k] as never, y = b[k] as never;
        if (x !== y) return (x < y ? -1 : 1) * dir;
      }
      return 0;
    });
  }
  const fields = Array.isArray(body.fields) && body.fields.length ? (body.fields as string[]) : null;
  const info = rows.slice(start as number, (start as number) + (limit as number)).map((r) => {
    if (!fields) return structuredClone(r);
    const out: Row = { [idField]: r[idField] };
    for (const f of fields) if (f in r) out[f] = structuredClone(r[f]);
    return out;
  });
  return ok({ count: rows.length, info });
};

const findObjectAssociation: CmdbHandler = (ctx, body) => {
  const cond = isObj(body.condition) ? body.condition : {};
  const keys = ['bk_obj_asst_id', 'bk_obj_id', 'bk_asst_obj_id', 'bk_asst_id'] as const;
  const data = ctx.store.objectAssociations.filter((a) => keys.every((k) => cond[k] === undefined || cond[k] === a[k]));
  return ok(structuredClone(data));
};

/** bk_inst_id / bk_asst_inst_id: a number or {"$in": [...]} (our assumption about the filter shape). */
function idMatch(want: unknown, v: number): boolean {
  if (want === undefined) return true;
  if (isObj(want) && Array.isArray(want.$in)) return want.$in.includes(v);
  return want === v;
}

const findInstanceAssociation: CmdbHandler = (ctx, body) => {
  if (typeof body.bk_obj_id !== 'string' || body.bk_obj_id === '') return fail(ctx, 1199006, 'bk_obj_id');
  const c = body.condition;
  if (!isObj(c) || typeof c.bk_obj_asst_id !== 'string' || c.bk_obj_asst_id === '') return fail(ctx, 1199006, 'condition.bk_obj_asst_id');
  const data = ctx.store.associations(c.bk_obj_asst_id).filter((a) =>
    a.bk_obj_id === body.bk_obj_id &&
    (c.bk_asst_id === undefined || c.bk_asst_id === a.bk_asst_id) &&
    (c.bk_asst_obj_id === undefined || c.bk_asst_obj_id === a.bk_asst_obj_id) &&
    idMatch(c.bk_inst_id, a.bk_inst_id) && idMatch(c.bk_asst_inst_id, a.bk_asst_inst_id));
  return ok(data);
};

export const CMDB_HANDLERS: Record<string, CmdbHandler> = {
  batch_create_inst: batchCreateInst,
  batch_update_inst: batchUpdateInst,
  batch_delete_inst: batchDeleteInst,
  update_process_instance: updateProcessInstance,
  batch_create_instance_association: batchCreateInstanceAssociation,
  search_object_attribute: searchObjectAttribute,
  search_object_instances: searchObjectInstances,
  find_object_association: findObjectAssociation,
  find_instance_association: findInstanceAssociation,
};

/** apigw routes: method, path pattern under /api/v3 (":obj" captures bk_obj_id), operation. */
export const APIGW_ROUTES: { method: string; re: RegExp; op: string }[] = [
  { method: 'POST', re: /^\/api\/v3\/createmany\/instance\/object\/([^/]+)\/?$/, op: 'batch_create_inst' },
  { method: 'PUT', re: /^\/api\/v3\/updatemany\/instance\/object\/([^/]+)\/?$/, op: 'batch_update_inst' },
  { method: 'DELETE', re: /^\/api\/v3\/deletemany\/instance\/object\/([^/]+)\/?$/, op: 'batch_delete_inst' },
  { method: 'PUT', re: /^\/api\/v3\/update\/proc\/process_instance\/?$/, op: 'update_process_instance' },
  { method: 'POST', re: /^\/api\/v3\/createmany\/instassociation\/?$/, op: 'batch_create_instance_association' },
  { method: 'POST', re: /^\/api\/v3\/find\/objectattr\/?$/, op: 'search_object_attribute' },
  { method: 'POST', re: /^\/api\/v3\/search\/instances\/object\/([^/]+)\/?$/, op: 'search_object_instances' },
  { method: 'POST', re: /^\/api\/v3\/find\/objectassociation\/?$/, op: 'find_object_association' },
  { method: 'POST', re: /^\/api\/v3\/find\/instassociation\/?$/, op: 'find_instance_association' },
];
