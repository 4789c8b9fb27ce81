/**
 * CMDB operation semantics (api-notes.md §2), independent of the front door.
 * Each handler takes the request body (path variables already merged in) and
 * returns the envelope fields; index.ts wraps them for ESB or apigw.
 */
import type { InstAssociation, Model, ObjectAssociation, Row, SimStore } from './store.js';
import { BUILTIN_MODELS, PROCESS_STRUCT_FIELDS } from './store.js';
import { checkValue, isEmptyValue, trimmed, type FieldError } from './validate.js';
import { cmdbMessage, type Lang } from './messages.js';

export interface CmdbCtx {
  store: SimStore;
  lang: Lang;
  user: string;
  /** The user may not write (forbiddenUsers). */
  forbidden: boolean;
  /** IAM is on: the apiserver parses association batches before CMDB sees them (SimOptions.iam). */
  iam: boolean;
  door: 'esb' | 'apigw';
}

export interface CmdbResult {
  code: number;
  message?: string;
  data?: unknown;
  permission?: unknown;
  /**
   * Answered by CMDB's apiserver filters (metadata.BaseResp, src/common/metadata/result.go): on apigw the keys stay
   * bk_error_code / bk_error_msg.
   */
  apiserver?: boolean;
  /** Rows created / updated, for the counters. */
  applied?: number;
  /** Rows rejected because the unique value / association already existed. */
  duplicates?: number;
  /** A refusal that still carries `data` (add_host_to_resource_pool's lists: rest.Contexts.RespEntityWithError). */
  keepData?: boolean;
}

export type CmdbHandler = (ctx: CmdbCtx, body: Row) => CmdbResult;

/** Operations the ESB has no component for: only the gateway serves them (docs/apidoc/cc/cc.yaml lists no such name). */
export const GATEWAY_ONLY = new Set(['search_object_unique']);

export const CMDB_WRITE_OPS = new Set([
  'batch_create_inst', 'batch_update_inst', 'update_process_instance', 'batch_create_instance_association', 'batch_delete_inst',
  'add_host_to_resource_pool',
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

/** A unique rule as the property ids of its keys (in rule order). */
interface UniqueRule { fields: string[] }

function rulesOf(m: Model): UniqueRule[] {
  const byId = new Map(m.attributes.map((a) => [a.id, a.bk_property_id]));
  return m.uniques.map((u) => ({ fields: u.keys.map((k) => byId.get(k.key_id)!).filter(Boolean) }));
}

/**
 * The value a rule holds for a row, or undefined when one of its fields has no value: bk-cmdb's unique indexes
 * are partial (only documents that have every key), so a rule binds only the rows that fill it.
 */
function ruleValue(rule: UniqueRule, row: Row): string | undefined {
  const values = rule.fields.map((f) => row[f]);
  return values.some(isEmptyValue) ? undefined : JSON.stringify(values);
}

/**
 * Host fields the server stores as lists and answers as comma-joined text (bk-cmdb common/metadata/host.go
 * HostSpecialFields, ConvertHostSpecialStringToArray): a filter or a unique rule matches any one of their items
 * (coreservice instances/validator_unique.go getValidUniqueOptions checks them with `$in` over the items).
 */
const HOST_LIST_FIELDS = new Set(['bk_host_innerip', 'bk_host_outerip', 'operator', 'bk_bak_operator', 'bk_host_innerip_v6', 'bk_host_outerip_v6']);

/** A host as the database holds it: its list fields as arrays of their items. */
function hostAsStored(h: Row): Row {
  const out: Row = { ...h };
  for (const f of HOST_LIST_FIELDS) if (typeof h[f] === 'string') out[f] = (h[f] as string).split(',').map((x) => x.trim()).filter(Boolean);
  return out;
}

/** The values a rule holds for a row: one, or for a host one per item of its list fields (each is unique). */
function ruleValues(rule: UniqueRule, row: Row, host: boolean): string[] {
  if (!host || !rule.fields.some((f) => HOST_LIST_FIELDS.has(f))) {
    const v = ruleValue(rule, row);
    return v === undefined ? [] : [v];
  }
  const stored = hostAsStored(row);
  let combos: unknown[][] = [[]];
  for (const f of rule.fields) {
    const v = stored[f];
    const items = Array.isArray(v) ? v : [v];
    if (items.length === 0 || items.some(isEmptyValue)) return [];
    combos = combos.flatMap((c) => items.map((x) => [...c, x]));
  }
  return combos.map((c) => JSON.stringify(c));
}

/** Per unique rule: rule value -> instance id, built once per request so big stores stay fast. */
function uniqueIndex(rules: UniqueRule[], instances: Map<number, Row>, host: boolean): Map<UniqueRule, Map<string, number>> {
  const idx = new Map<UniqueRule, Map<string, number>>();
  for (const rule of rules) {
    const values = new Map<string, number>();
    for (const [id, r] of instances) {
      for (const v of ruleValues(rule, r, host)) values.set(v, id);
    }
    idx.set(rule, values);
  }
  return idx;
}

/**
 * The unique indexes of a model's instances, kept from one write to the next while nothing else changed the
 * instances (store.version): building one per request made a 100,000-row import — and 200,000 updates, which took
 * 299 s — quadratic, so the simulator, not the client, was the bottleneck of the benchmark. batch_create_inst and
 * batch_update_inst keep the index in step with their own writes (an update that is refused undoes its steps), then
 * stamp it with the version their write left; anything else that writes (delete, seed, a test's insert) bumps the
 * version and the next write rebuilds it once.
 */
const uniqueIndexes = new WeakMap<Map<number, Row>, { version: number; rules: UniqueRule[]; unique: Map<UniqueRule, Map<string, number>> }>();

function indexesOf(ctx: CmdbCtx, m: Model, instances: Map<number, Row>): { rules: UniqueRule[]; unique: Map<UniqueRule, Map<string, number>> } {
  const cached = uniqueIndexes.get(instances);
  if (cached && cached.version === ctx.store.version) return cached;
  const rules = rulesOf(m);
  return { rules, unique: uniqueIndex(rules, instances, m.bk_obj_id === 'host') };
}

function keepIndexes(ctx: CmdbCtx, instances: Map<number, Row>, ix: { rules: UniqueRule[]; unique: Map<UniqueRule, Map<string, number>> }): void {
  uniqueIndexes.set(instances, { version: ctx.store.version, ...ix });
}

/** The duplicate key as mongodb.GetDuplicateKey cuts it out of Mongo's E11000 message: `bk_asset_id: "SW-1"`. */
const dupKey = (rule: UniqueRule, row: Row) => rule.fields.map((f) => `${f}: ${JSON.stringify(row[f])}`).join(', ');

/** Every string value trimmed, as the server stores it (instance_validate.go). */
function trimAll(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = trimmed(v);
  return out;
}

// ---- batch_create_inst ------------------------------------------------------

/**
 * A per-row error of batch_create_inst: the message only, no code (topo_server logics/inst/inst.go
 * CreateManyInstance copies `err_msg` / `Message` into error_msg).
 */
const rowFail = (ctx: CmdbCtx, code: number, ...params: (string | number)[]) => cmdbMessage(code, ctx.lang, ...params);

const batchCreateInst: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (m.builtin) return fail(ctx, 1199084);
  const details = body.details;
  if (details === undefined || details === null || (Array.isArray(details) && details.length === 0)) return fail(ctx, 1199038, 'details');
  if (!Array.isArray(details)) return fail(ctx, 1199006, 'details');
  if (details.length > 200) return fail(ctx, 1199035, 'details', 200);
  if (ctx.forbidden) return denied(ctx, 'create_model_instance', '新建实例', `comobj_${m.bk_obj_id}`, m.bk_obj_id, [m.bk_obj_id]);

  const created: Record<string, number> = {};
  const errors: Record<string, string> = {};
  let duplicates = 0;
  const creator = instanceCreator(ctx, m);
  // Rows are independent and applied in order, so a row that repeats an earlier
  // row's unique value fails against the instance that row just created.
  details.forEach((raw: unknown, i) => {
    const key = String(i);
    if (!isObj(raw)) {
      errors[key] = rowFail(ctx, 1199006, `details[${i}]`);
      return;
    }
    const r = creator.create(raw);
    if ('error' in r) {
      errors[key] = r.error;
      if (r.duplicate) duplicates++;
    } else created[key] = r.id;
  });
  creator.done();
  return ok({ success_created: created, error_msg: errors }, Object.keys(created).length, duplicates);
};

/**
 * Creates instances of a model one at a time, as coreservice CreateModelInstance / CreateManyModelInstance check
 * them (instances/instance_validate.go: text trimmed, required fields, each value by its attribute, unknown fields
 * dropped; validator_unique.go: every unique rule the row fills), keeping the unique indexes in step.
 */
function instanceCreator(ctx: CmdbCtx, m: Model) {
  const instances = ctx.store.instanceMap(m.bk_obj_id);
  const { rules, unique } = indexesOf(ctx, m, instances);
  const exists = (obj: string, id: number) => ctx.store.instanceMap(obj).has(id);
  return {
    create(raw: Row): { id: number } | { error: string; duplicate?: boolean } {
      const row = trimAll(raw);
      const fields: Row = {};
      for (const a of m.attributes) {
        const v = row[a.bk_property_id];
        if (isEmptyValue(v)) {
          if (a.isrequired) return { error: rowFail(ctx, 1199010, a.bk_property_id) };
          if (v !== undefined) fields[a.bk_property_id] = v;
          continue;
        }
        const err = checkValue(a, v, ctx.lang, exists);
        if (err) return { error: err.message };
        fields[a.bk_property_id] = v;
      }
      const host = m.bk_obj_id === 'host';
      for (const rule of rules) {
        if (ruleValues(rule, fields, host).some((v) => unique.get(rule)!.has(v))) return { error: rowFail(ctx, 1199014, dupKey(rule, fields)), duplicate: true };
      }
      const id = ctx.store.insert(m.bk_obj_id, fields);
      for (const [rule, values] of unique) for (const v of ruleValues(rule, fields, host)) values.set(v, id);
      return { id };
    },
    done: () => keepIndexes(ctx, instances, { rules, unique }),
  };
}

// ---- add_host_to_resource_pool ----------------------------------------------

/** The host_server's per-row words for a host it could not add (resources/language/{default,en}/host_server.json host_import_add_fail). */
const hostAddFail = (ctx: CmdbCtx, index: number, ip: string, why: string) =>
  ctx.lang === 'en' ? `${index} line ${ip} new failed ${why}` : `${index}行${ip}新加失败${why}`;

/**
 * add_host_to_resource_pool (ESB) / POST /api/v3/hosts/add/resource: host_server service/host.go
 * AddHostToResourcePool → logics/import.go AddHostToResourcePool. host_info is a list (JSON decode of
 * metadata.AddHostToResourcePoolHostList; not a list → 1199000), null → 1199010. No transaction and no count limit:
 * each host is checked (validateHostField: an inner IP (v4 or v6) and bk_cloud_id, an integer ≥ 0), its cloud area
 * must exist (addHostInstance: only area 0 here → 1101032 in the row's words), then created as any instance
 * (coreservice CreateModelInstance: attributes, unique rules) in the resource pool's idle module, in order. The answer
 * lists success [{index, bk_host_id}] and error [{index, error_message}] (empty lists left out); with any error the
 * envelope is result:false, 1110004, with the lists still in `data` (rest.Contexts.RespEntityWithError).
 */
const addHostToResourcePool: CmdbHandler = (ctx, body) => {
  const info = body.host_info;
  if (info === undefined || info === null) return fail(ctx, 1199010, 'host_info');
  if (!Array.isArray(info)) return fail(ctx, 1199000);
  if (body.directory !== undefined && body.directory !== 0) return fail(ctx, 1199006, 'directory'); // not modelled: the idle module only
  if (ctx.forbidden) return denied(ctx, 'create_resource_pool_host', '主机池主机创建', 'sys_resource_pool_directory', '主机池目录', [1]);
  const m = ctx.store.models.get('host')!;
  const creator = instanceCreator(ctx, m);
  const success: Row[] = [];
  const error: Row[] = [];
  let duplicates = 0;
  info.forEach((raw: unknown, index) => {
    if (!isObj(raw)) return; // a null host is skipped (`if host == nil { continue }`)
    const ip = typeof raw.bk_host_innerip === 'string' ? raw.bk_host_innerip : '';
    const ip6 = typeof raw.bk_host_innerip_v6 === 'string' ? raw.bk_host_innerip_v6 : '';
    if (ip === '' && ip6 === '') return void error.push({ index, error_message: rowFail(ctx, 1199010, 'bk_host_innerip and bk_host_innerip_v6') });
    if (raw.bk_cloud_id === undefined || raw.bk_cloud_id === null) return void error.push({ index, error_message: rowFail(ctx, 1199010, 'bk_cloud_id') });
    const cloud = typeof raw.bk_cloud_id === 'string' && /^\d+$/.test(raw.bk_cloud_id) ? Number(raw.bk_cloud_id) : raw.bk_cloud_id;
    if (!Number.isInteger(cloud) || (cloud as number) < 0) return void error.push({ index, error_message: rowFail(ctx, 1199009, 'bk_cloud_id') });
    if (cloud !== 0) return void error.push({ index, error_message: hostAddFail(ctx, index, ip, cmdbMessage(1101032, ctx.lang)) });
    const r = creator.create({ ...raw, bk_cloud_id: cloud });
    if ('error' in r) {
      error.push({ index, error_message: r.error });
      if (r.duplicate) duplicates++;
    } else success.push({ index, bk_host_id: r.id });
  });
  creator.done();
  const data: Row = {};
  if (success.length) data.success = success;
  if (error.length) data.error = error;
  if (error.length === 0) return ok(data, success.length);
  return { ...fail(ctx, 1110004), data, keepData: true, applied: success.length, duplicates };
};

// ---- batch_update_inst ------------------------------------------------------

/** Success data of the "no data" writes: ESB answers "success" (as the docs show), apigw null (as the server does). */
const doneData = (ctx: CmdbCtx) => (ctx.door === 'esb' ? 'success' : null);

const batchUpdateInst: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (m.builtin && m.bk_obj_id !== 'host') return fail(ctx, 1199084);
  const items = body.update;
  if (!Array.isArray(items)) return fail(ctx, 1199006, 'update');
  const instances = ctx.store.instanceMap(m.bk_obj_id);
  const attrs = new Map(m.attributes.map((a) => [a.bk_property_id, a]));
  const ids = items.map((it: unknown) => (isObj(it) ? it.inst_id : undefined));
  if (ctx.forbidden) return denied(ctx, 'edit_model_instance', '编辑实例', `comobj_${m.bk_obj_id}`, m.bk_obj_id, ids.filter(posInt));
  const exists = (obj: string, id: number) => ctx.store.instanceMap(obj).has(id);

  // Validate everything against the state the batch would produce; the first
  // problem rejects the whole batch and the answer does not say which item.
  const pending = new Map<number, Row>();
  const { rules, unique } = indexesOf(ctx, m, instances);
  // Steps taken on the index, undone when the batch is refused: [values, key, id it had (undefined: none)].
  const steps: [Map<string, number>, string, number | undefined][] = [];
  const put = (values: Map<string, number>, key: string, id: number | undefined) => {
    steps.push([values, key, values.get(key)]);
    if (id === undefined) values.delete(key);
    else values.set(key, id);
  };
  let dup = 0;
  const check = (): CmdbResult | null => {
    for (const it of items as unknown[]) {
      if (!isObj(it) || !posInt(it.inst_id)) return fail(ctx, 1199006, 'inst_id');
      const current = pending.get(it.inst_id) ?? instances.get(it.inst_id);
      if (!current) return fail(ctx, 1199019);
      if (!isObj(it.datas)) return fail(ctx, 1199006, 'datas');
      const next: Row = { ...current };
      for (const [k, raw] of Object.entries(it.datas)) {
        const a = attrs.get(k);
        if (!a || !a.editable) continue; // unknown and non-editable fields are dropped
        const v = trimmed(raw);
        if (isEmptyValue(v)) {
          if (a.isrequired) return fail(ctx, 1199010, k);
          next[k] = v;
          continue;
        }
        const err: FieldError | null = checkValue(a, v, ctx.lang, exists);
        if (err) return { code: err.code, message: err.message };
        next[k] = v;
      }
      for (const rule of rules) {
        const v = ruleValue(rule, next);
        const owner = v === undefined ? undefined : unique.get(rule)!.get(v);
        if (owner !== undefined && owner !== it.inst_id) {
          dup = 1;
          return fail(ctx, 1199014, rule.fields.map((f) => attrs.get(f)?.bk_property_name ?? f).join(','));
        }
      }
      // Later items are checked against the values this one leaves behind.
      for (const [rule, values] of unique) {
        const before = ruleValue(rule, current);
        if (before !== undefined && values.get(before) === it.inst_id) put(values, before, undefined);
        const after = ruleValue(rule, next);
        if (after !== undefined) put(values, after, it.inst_id);
      }
      pending.set(it.inst_id, next);
    }
    return null;
  };
  const err = check();
  if (err) {
    for (const [values, key, id] of steps.reverse()) {
      if (id === undefined) values.delete(key);
      else values.set(key, id);
    }
    keepIndexes(ctx, instances, { rules, unique });
    return { ...err, duplicates: dup };
  }
  for (const [id, row] of pending) instances.set(id, row);
  ctx.store.version++;
  keepIndexes(ctx, instances, { rules, unique });
  return ok(doneData(ctx), items.length);
};

// ---- batch_delete_inst ------------------------------------------------------

const batchDeleteInst: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (m.builtin) return fail(ctx, 1199084);
  const del = body.delete;
  const ids = isObj(del) ? del.inst_ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0) return fail(ctx, 1199038, 'delete.inst_ids');
  if (!ids.every(posInt)) return fail(ctx, 1199006, 'delete.inst_ids');
  if (ctx.forbidden) return denied(ctx, 'delete_model_instance', '删除实例', `comobj_${m.bk_obj_id}`, m.bk_obj_id, ids);
  const instances = ctx.store.instanceMap(m.bk_obj_id);
  // Unknown ids are ignored and the answer is success (api-notes §5; topo_server DeleteInsts → DeleteInstByInstID).
  const linked = (a: InstAssociation) =>
    (a.bk_obj_id === m.bk_obj_id && ids.includes(a.bk_inst_id)) || (a.bk_asst_obj_id === m.bk_obj_id && ids.includes(a.bk_asst_inst_id));
  for (const a of ctx.store.associationMap().values()) if (linked(a)) return fail(ctx, 1101075);
  const known = new Set(ids.filter((id) => instances.has(id)));
  for (const id of known) instances.delete(id);
  ctx.store.version++;
  return ok(doneData(ctx), known.size);
};

// ---- update_process_instance ------------------------------------------------

const PROC_INT = new Set(['bk_process_id', 'proc_num', 'timeout', 'priority', 'bk_biz_id', 'bk_start_check_secs']);
const STRUCT = new Set<string>(PROCESS_STRUCT_FIELDS);

/** Whether a value decodes into the Process struct field (mapstr.DecodeFromMapStr); null decodes to a nil pointer. */
function decodes(k: string, v: unknown): boolean {
  if (v === null) return true;
  if (k === 'auto_start') return typeof v === 'boolean';
  if (PROC_INT.has(k)) return typeof v === 'number' && Number.isInteger(v);
  if (k === 'bind_info') return Array.isArray(v) && v.every(isObj);
  return typeof v === 'string';
}

/**
 * What one item writes (proc_server service/processinstance.go updateProcessInstances): without a template the item
 * is rebuilt from the whole Process struct, so every struct field the item leaves out becomes null; with a template
 * only the fields the template does not lock, and only those sent (metadata.ProcessTemplate.ExtractInstanceUpdateData).
 * Fields outside the struct are ignored either way.
 */
function processUpdate(item: Row, biz: number, locked: string[] | undefined): Row {
  const data: Row = {};
  for (const k of PROCESS_STRUCT_FIELDS) {
    if (k === 'bk_process_id' || k === 'bk_supplier_account') continue;
    if (locked && (locked.includes(k) || !(k in item))) continue;
    data[k] = k in item ? trimmed(structuredClone(item[k])) : null;
  }
  data.bk_biz_id = biz;
  return data;
}

const updateProcessInstance: CmdbHandler = (ctx, body) => {
  const biz = body.bk_biz_id;
  if (!posInt(biz)) return fail(ctx, 1199006, 'bk_biz_id');
  const list = body.processes;
  if (!Array.isArray(list)) return fail(ctx, 1199006, 'processes');
  if (list.length === 0) return ok([]);
  if (list.length > 100) return fail(ctx, 1199035, 'update process instances', 100);
  if (ctx.forbidden) return denied(ctx, 'edit_business_service_instance', '服务实例编辑', 'biz', '业务', [biz]);
  const procs = ctx.store.processMap();
  for (const p of list as unknown[]) {
    if (!isObj(p)) return fail(ctx, 1199000);
    for (const [k, v] of Object.entries(p)) if (STRUCT.has(k) && !decodes(k, v)) return fail(ctx, 1199000);
    if (p.bk_process_id === undefined || p.bk_process_id === 0) return fail(ctx, 1199006, 'bk_process_id');
  }
  const missing = (list as Row[]).map((p) => p.bk_process_id as number).filter((id) => procs.get(id)?.bk_biz_id !== biz);
  if (missing.length) return fail(ctx, 1199011, `[bk_process_id: ${[...new Set(missing)].join(',')}]`);
  // One transaction: every item is built and checked before anything is written.
  const writes = new Map<number, Row>();
  for (const p of list as Row[]) {
    const id = p.bk_process_id as number;
    const data = processUpdate(p, biz, ctx.store.templateOf(id)?.locked);
    const next = { ...(writes.get(id) ?? procs.get(id)!), ...data };
    if (isEmptyValue(next.bk_process_name)) return fail(ctx, 1199010, 'bk_process_name');
    writes.set(id, next);
  }
  for (const [id, row] of writes) procs.set(id, row);
  return ok([...new Set((list as Row[]).map((p) => p.bk_process_id))], list.length);
};

// ---- batch_create_instance_association --------------------------------------

/**
 * With IAM on, the apiserver's auth filter parses every detail before CMDB sees the request
 * (ac/parser/topolatest.go, createObjectManyInstanceAssociationLatestPattern; ac/parser/util.go
 * generateUpdateInstanceResource): an id <= 0, or a host id with no host-module relation (unknown or unplaced),
 * stops the parse and the whole request is refused with 1199045 and the parser's words
 * (apiserver/service/filter.go verifyAuthorizeStatus). Only the first bad id is named.
 */
function iamParse(ctx: CmdbCtx, kind: ObjectAssociation, details: Row[]): CmdbResult | null {
  const refuse = (message: string): CmdbResult => ({ code: 1199045, message, apiserver: true });
  for (const d of details) {
    if ((d.bk_inst_id as number) <= 0) return refuse('invalid bk_inst_id value');
    if ((d.bk_asst_inst_id as number) <= 0) return refuse('invalid bk_asst_inst_id value');
    for (const [obj, id] of [[kind.bk_obj_id, d.bk_inst_id], [kind.bk_asst_obj_id, d.bk_asst_inst_id]] as const) {
      if (obj === 'host' && !ctx.store.instanceMap('host').has(id as number)) return refuse(`host ${id} has no relations`);
    }
  }
  return null;
}

const batchCreateInstanceAssociation: CmdbHandler = (ctx, body) => {
  const details = body.details;
  if (details === undefined || details === null || (Array.isArray(details) && details.length === 0)) return fail(ctx, 1199038, 'details');
  if (!Array.isArray(details)) return fail(ctx, 1199006, 'details');
  if (details.length > 200) return fail(ctx, 1199035, 'details', 200);
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
    if (!ctx.iam && (d.bk_inst_id <= 0 || d.bk_asst_inst_id <= 0)) return fail(ctx, 1199006, 'details');
  }
  const refused = ctx.iam ? iamParse(ctx, kind, details as Row[]) : null;
  if (refused) return refused;
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
    const err = (code: number) => (errors[String(i)] = code === 1101038 ? cmdbMessage(code, ctx.lang, obj, asstObj) : cmdbMessage(code, ctx.lang));
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
type Group = { condition: 'AND' | 'OR'; rules: (Rule | Group)[] };
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

/** An `in` list as a set, made once per request (a 500-value list tested against every instance of a big model). */
const IN_SETS = new WeakMap<unknown[], Set<unknown>>();
function inSet(values: unknown[]): Set<unknown> {
  let s = IN_SETS.get(values);
  if (!s) IN_SETS.set(values, (s = new Set(values)));
  return s;
}

function matches(row: Row, g: Group): boolean {
  const test = (r: Rule | Group): boolean => {
    if ('condition' in r) return matches(row, r);
    const v = row[r.field];
    if (Array.isArray(v)) return matchesList(v, r);
    switch (r.operator) {
      case 'equal': return v === r.value;
      case 'not_equal': return v !== r.value;
      case 'in': return inSet(r.value as unknown[]).has(v);
      case 'not_in': return !inSet(r.value as unknown[]).has(v);
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

/** A rule on a list field, as MongoDB matches an array: by any of its items. */
function matchesList(items: unknown[], r: Rule): boolean {
  switch (r.operator) {
    case 'equal': return items.includes(r.value);
    case 'not_equal': return !items.includes(r.value);
    case 'in': return items.some((x) => inSet(r.value as unknown[]).has(x));
    case 'not_in': return !items.some((x) => inSet(r.value as unknown[]).has(x));
    case 'contains': return items.some((x) => typeof x === 'string' && x.includes(String(r.value)));
    case 'exist': return true;
    case 'not_exist': return false;
  }
  return false;
}

/** page {start, limit, sort} as metadata.BasePage reads it; a reason when it is not acceptable. */
export function readPage(body: Row, maxLimit: number): { start: number; limit: number; sort: string } | string {
  const page = isObj(body.page) ? body.page : {};
  const start = page.start ?? 0;
  const limit = page.limit;
  if (!Number.isInteger(start) || (start as number) < 0) return 'page.start';
  if (!Number.isInteger(limit) || (limit as number) <= 0 || (limit as number) > maxLimit) return 'page.limit';
  return { start: start as number, limit: limit as number, sort: typeof page.sort === 'string' ? page.sort : '' };
}

/** Filters, sorts, pages and projects rows the way the instance searches do. */
export function searchRows(all: Row[], filter: unknown, page: { start: number; limit: number; sort: string }, fields: unknown, idField: string): { count: number; info: Row[] } {
  let rows = isObj(filter) ? all.filter((r) => matches(r, filter as unknown as Group)) : all;
  if (page.sort !== '') {
    const keys = page.sort.split(',').map((s) => (s.startsWith('-') ? { k: s.slice(1), dir: -1 } : { k: s, dir: 1 }));
    rows = [...rows].sort((a, b) => {
      for (const { k, dir } of keys) {
        const x = a[k] as never, y = b[k] as never;
        if (x !== y) return (x < y ? -1 : 1) * dir;
      }
      return 0;
    });
  }
  const wanted = Array.isArray(fields) && fields.length ? (fields as string[]) : null;
  const info = rows.slice(page.start, page.start + page.limit).map((r) => {
    if (!wanted) return structuredClone(r);
    const out: Row = { [idField]: r[idField] };
    for (const f of wanted) if (f in r) out[f] = structuredClone(r[f]);
    return out;
  });
  return { count: rows.length, info };
}

/**
 * topo_server service/inst.go SearchObjectInstances: built-in models refused (common.IsInnerModel → 1199084);
 * page.limit 1..500 (metadata.SearchInstanceFilter.Validate); the answer is metadata.CommonSearchResult
 * `{info}` with no count (DisableCounter), and `info` is null when nothing matched (a nil Go slice).
 */
const searchObjectInstances: CmdbHandler = (ctx, body) => {
  const m = model(ctx, body.bk_obj_id);
  if ('code' in m) return m;
  if (BUILTIN_MODELS.has(m.bk_obj_id)) return fail(ctx, 1199084);
  const filterFail = (why: string): CmdbResult => ({ ...fail(ctx, 1199006, why), apiserver: true });
  const page = readPage(body, 500);
  if (typeof page === 'string') return filterFail(page);
  if (body.conditions !== undefined && body.conditions !== null) {
    const why = checkFilter(body.conditions);
    if (why) return filterFail(`conditions: ${why}`);
  }
  const { info } = searchRows([...ctx.store.instanceMap(m.bk_obj_id).values()], body.conditions, page, body.fields, m.idField);
  return ok({ info: info.length ? info : null });
};

/**
 * list_hosts_without_biz (ESB) / POST /api/v3/hosts/list_hosts_without_app (host_server service/findhost.go
 * ListHostsWithNoBiz): page limit 1..1000 (BasePage.Validate), default sort bk_host_id, filter
 * host_property_filter {condition, rules}; answer {count, info} with bk_host_id in every row.
 */
const listHostsWithoutBiz: CmdbHandler = (ctx, body) => {
  const page = readPage(body, 1000);
  if (typeof page === 'string') return fail(ctx, 1199006, page);
  const filter = body.host_property_filter;
  if (filter !== undefined && filter !== null) {
    const why = checkFilter(filter, 'host_property_filter');
    if (why) return fail(ctx, 1199006, why);
  }
  // Filtered as stored (list fields as arrays), answered as read (comma-joined text: HostMapStr.UnmarshalBSON).
  const hosts = ctx.store.hosts();
  const hit = isObj(filter) ? hosts.filter((h) => matches(hostAsStored(h), filter as unknown as Group)) : hosts;
  return ok(searchRows(hit, undefined, { ...page, sort: page.sort || 'bk_host_id' }, body.fields, 'bk_host_id'));
};

/**
 * Gateway only (no ESB component): POST /api/v3/find/objectunique/object/{bk_obj_id} (topo_server
 * service/unique.go SearchObjectUnique) → data: [metadata.ObjectUnique].
 */
const searchObjectUnique: CmdbHandler = (ctx, body) => {
  const m = typeof body.bk_obj_id === 'string' ? ctx.store.models.get(body.bk_obj_id) : undefined;
  return ok(m ? structuredClone(m.uniques) : []);
};

/**
 * list_process_related_info (ESB) / POST /api/v3/findmany/proc/process_related_info/biz/{bk_biz_id}
 * (proc_server service/processinstance.go ListProcessRelatedInfo): processes of the business matching
 * process_property_filter, each with its process_template {id} (0: none) and the process document.
 */
const listProcessRelatedInfo: CmdbHandler = (ctx, body) => {
  const biz = body.bk_biz_id;
  if (!posInt(biz)) return fail(ctx, 1199011, 'bk_biz_id');
  const page = readPage(body, 500);
  if (typeof page === 'string') return fail(ctx, 1199006, page);
  const filter = body.process_property_filter;
  if (filter !== undefined && filter !== null) {
    const why = checkFilter(filter, 'process_property_filter');
    if (why) return fail(ctx, 1199006, why);
  }
  const mine = ctx.store.processes().filter((p) => p.bk_biz_id === biz);
  const { count, info } = searchRows(mine, filter, { ...page, sort: page.sort || 'bk_process_id' }, body.fields, 'bk_process_id');
  return ok({
    count,
    info: info.map((p) => ({
      set: { bk_set_id: 10, bk_set_name: 'set-1' },
      module: { bk_module_id: 20, bk_module_name: 'module-1' },
      host: { bk_host_id: 1, bk_cloud_id: 0, bk_host_innerip: '10.0.0.1' },
      service_instance: { id: p.bk_process_id, name: `svc-${p.bk_process_id}` },
      process_template: { id: ctx.store.templateOf(p.bk_process_id as number)?.id ?? 0 },
      process: p,
    })),
  });
};

/**
 * get_proc_template (ESB) / POST /api/v3/find/proc/proc_template/id/{process_template_id} → metadata.ProcessTemplate;
 * each property is {value, as_default_value} and as_default_value true locks the field in its processes.
 */
const getProcTemplate: CmdbHandler = (ctx, body) => {
  const t = ctx.store.template(Number(body.process_template_id));
  if (!t) return fail(ctx, 1199019);
  const property: Row = {};
  for (const f of PROCESS_STRUCT_FIELDS) if (f !== 'bk_process_id' && f !== 'bk_biz_id' && f !== 'bk_supplier_account') property[f] = { value: null, as_default_value: t.locked.includes(f) };
  return ok({ id: t.id, bk_process_name: t.bk_process_name, bk_biz_id: t.bk_biz_id, service_template_id: t.service_template_id, property });
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
  list_hosts_without_biz: listHostsWithoutBiz,
  add_host_to_resource_pool: addHostToResourcePool,
  search_object_unique: searchObjectUnique,
  list_process_related_info: listProcessRelatedInfo,
  get_proc_template: getProcTemplate,
  find_object_association: findObjectAssociation,
  find_instance_association: findInstanceAssociation,
};

/** apigw routes: method, path pattern under /api/v3 (":obj" captures bk_obj_id), operation. */
export const APIGW_ROUTES: { method: string; re: RegExp; op: string; param?: string }[] = [
  { method: 'POST', re: /^\/api\/v3\/createmany\/instance\/object\/([^/]+)\/?$/, op: 'batch_create_inst' },
  { method: 'PUT', re: /^\/api\/v3\/updatemany\/instance\/object\/([^/]+)\/?$/, op: 'batch_update_inst' },
  { method: 'DELETE', re: /^\/api\/v3\/deletemany\/instance\/object\/([^/]+)\/?$/, op: 'batch_delete_inst' },
  { method: 'PUT', re: /^\/api\/v3\/update\/proc\/process_instance\/?$/, op: 'update_process_instance' },
  { method: 'POST', re: /^\/api\/v3\/createmany\/instassociation\/?$/, op: 'batch_create_instance_association' },
  { method: 'POST', re: /^\/api\/v3\/find\/objectattr\/?$/, op: 'search_object_attribute' },
  { method: 'POST', re: /^\/api\/v3\/search\/instances\/object\/([^/]+)\/?$/, op: 'search_object_instances' },
  { method: 'POST', re: /^\/api\/v3\/find\/objectassociation\/?$/, op: 'find_object_association' },
  { method: 'POST', re: /^\/api\/v3\/find\/instassociation\/?$/, op: 'find_instance_association' },
  { method: 'POST', re: /^\/api\/v3\/hosts\/list_hosts_without_app\/?$/, op: 'list_hosts_without_biz' },
  { method: 'POST', re: /^\/api\/v3\/hosts\/add\/resource\/?$/, op: 'add_host_to_resource_pool' },
  { method: 'POST', re: /^\/api\/v3\/find\/objectunique\/object\/([^/]+)\/?$/, op: 'search_object_unique' },
  { method: 'POST', re: /^\/api\/v3\/findmany\/proc\/process_related_info\/biz\/([^/]+)\/?$/, op: 'list_process_related_info', param: 'bk_biz_id' },
  { method: 'POST', re: /^\/api\/v3\/find\/proc\/proc_template\/id\/([^/]+)\/?$/, op: 'get_proc_template', param: 'process_template_id' },
];
