/**
 * The simulator's in-memory world: CMDB models, instances, hosts, processes,
 * association kinds and instance associations, and Feishu aPaaS records.
 * Everything here is plain data; the HTTP handlers in cmdb.ts / feishu.ts
 * implement the server semantics on top of it.
 */

export type PropertyType =
  | 'singlechar' | 'longchar' | 'int' | 'float' | 'enum' | 'enummulti' | 'date' | 'time'
  | 'timezone' | 'bool' | 'objuser' | 'organization' | 'list' | 'enumquote';

export interface EnumOption { id: string; name: string; type: 'text'; is_default: boolean }

export interface Attribute {
  id: number;
  bk_obj_id: string;
  bk_property_id: string;
  bk_property_name: string;
  bk_property_type: PropertyType;
  isrequired: boolean;
  editable: boolean;
  isonly: boolean;
  ismultiple: boolean;
  /** int/float: {min,max} as strings; enum/enummulti: EnumOption[]; list: string[]; singlechar: regex or "". */
  option: unknown;
  placeholder: string;
  unit: string;
}

/** One key of a unique rule: the attribute's numeric id (metadata.UniqueKey, src/common/metadata/unique.go). */
export interface UniqueKey { key_kind: 'property'; key_id: number }

/** A unique rule (metadata.ObjectUnique): the combination of its keys' values is unique among the model's instances. */
export interface ObjectUnique {
  id: number;
  bk_template_id: number;
  bk_obj_id: string;
  keys: UniqueKey[];
  ispre: boolean;
  bk_supplier_account: string;
  last_time: string;
}

export interface Model {
  bk_obj_id: string;
  builtin: boolean;
  /** Name of the id field of its instances: bk_inst_id, or bk_host_id for host. */
  idField: string;
  attributes: Attribute[];
  /** Unique rules (search_object_unique); every custom model has one on bk_inst_name. */
  uniques: ObjectUnique[];
}

/** A process template (get_proc_template): `locked` are the fields whose as_default_value is true. */
export interface ProcTemplate { id: number; bk_process_name: string; bk_biz_id: number; service_template_id: number; locked: string[] }

export interface ObjectAssociation {
  id: number;
  bk_obj_asst_id: string;
  bk_obj_id: string;
  bk_asst_obj_id: string;
  bk_asst_id: string;
  mapping: '1:1' | '1:n' | 'n:n';
  on_delete: 'none';
}

export interface InstAssociation {
  id: number;
  bk_obj_asst_id: string;
  bk_asst_id: string;
  bk_obj_id: string;
  bk_asst_obj_id: string;
  bk_inst_id: number;
  bk_asst_inst_id: number;
}

export type Row = Record<string, unknown>;
export type SimWorld = 'default' | 'empty-extra';

/**
 * Built-in models (common.IsInnerModel, src/common/mapping.go): batch_create_inst and search_object_instances refuse
 * them all (1199084), batch_update_inst allows host only.
 */
export const BUILTIN_MODELS = new Set(['host', 'biz', 'set', 'module', 'process', 'plat', 'bk_biz_set_obj', 'bk_project']);

/**
 * The fields of the server's Process struct (metadata.Process, src/common/metadata/process.go): what an
 * update_process_instance item is decoded into. Anything else in an item is ignored.
 */
export const PROCESS_STRUCT_FIELDS = [
  'proc_num', 'stop_cmd', 'restart_cmd', 'face_stop_cmd', 'bk_process_id', 'bk_func_name', 'work_path', 'priority',
  'reload_cmd', 'bk_process_name', 'pid_file', 'auto_start', 'bk_start_check_secs', 'bk_biz_id', 'start_cmd', 'user',
  'timeout', 'description', 'bk_supplier_account', 'bk_start_param_regex', 'bind_info',
] as const;

/** First ids of the global sequences (docs/simulator.md, "Ids"). */
export const FIRST_INST_ID = 1001;
export const FIRST_FEISHU_ID = 1798681438085001;

let attrSeq = 0;
function attr(
  obj: string, id: string, name: string, type: PropertyType,
  flags: { required?: boolean; only?: boolean; editable?: boolean; multiple?: boolean; option?: unknown; unit?: string } = {},
): Attribute {
  const defaultOption = type === 'int' || type === 'float' ? { min: '', max: '' } : type === 'singlechar' || type === 'longchar' ? '' : null;
  return {
    id: ++attrSeq,
    bk_obj_id: obj,
    bk_property_id: id,
    bk_property_name: name,
    bk_property_type: type,
    isrequired: flags.required ?? false,
    editable: flags.editable ?? true,
    isonly: flags.only ?? false,
    ismultiple: flags.multiple ?? type === 'enummulti',
    option: flags.option ?? defaultOption,
    placeholder: '',
    unit: flags.unit ?? '',
  };
}

const opt = (id: string, name: string): EnumOption => ({ id, name, type: 'text', is_default: false });

/** A model with its unique rules: one on bk_inst_name (custom models; ispre) and one per extra list of fields. */
function model(bk_obj_id: string, builtin: boolean, idField: string, attributes: Attribute[], rules: string[][]): Model {
  const idOf = (field: string) => {
    const a = attributes.find((x) => x.bk_property_id === field);
    if (!a) throw new Error(`unique rule on unknown field ${bk_obj_id}.${field}`);
    return a.id;
  };
  const all = builtin ? rules : [['bk_inst_name'], ...rules];
  const uniques = all.map((fields, i) => ({
    id: ++uniqueSeq, bk_template_id: 0, bk_obj_id, keys: fields.map((f) => ({ key_kind: 'property' as const, key_id: idOf(f) })),
    ispre: builtin || i === 0, bk_supplier_account: '0', last_time: '2023-03-01T00:00:00Z',
  }));
  return { bk_obj_id, builtin, idField, attributes, uniques };
}

let uniqueSeq = 0;

function buildModels(): Map<string, Model> {
  attrSeq = 0;
  uniqueSeq = 0;
  // Only bk_inst_name carries isonly:true; the other unique fields are unique through their rules (api-notes §5).
  const models: Model[] = [
    model('bk_switch', false, 'bk_inst_id', [
      attr('bk_switch', 'bk_inst_name', '实例名', 'singlechar', { required: true, only: true }),
      attr('bk_switch', 'bk_asset_id', '固资编号', 'singlechar', { required: true }),
      attr('bk_switch', 'bk_sn', '设备SN', 'singlechar'),
      attr('bk_switch', 'bk_operator', '维护人', 'objuser', { multiple: true }),
      attr('bk_switch', 'port_count', '端口数', 'int', { option: { min: '1', max: '1024' } }),
      attr('bk_switch', 'is_managed', '是否纳管', 'bool'),
      attr('bk_switch', 'vendor', '厂商', 'enum', { option: [opt('cisco', 'Cisco'), opt('huawei', '华为'), opt('h3c', '华三')] }),
      attr('bk_switch', 'bought_on', '采购日期', 'date'),
      attr('bk_switch', 'remark', '备注', 'longchar'),
      attr('bk_switch', 'tags', '标签', 'enummulti', { option: [opt('core', '核心'), opt('access', '接入'), opt('lab', '实验')] }),
    ], [['bk_asset_id']]),
    model('bk_firewall', false, 'bk_inst_id', [
      attr('bk_firewall', 'bk_inst_name', '实例名', 'singlechar', { required: true, only: true }),
      attr('bk_firewall', 'bk_asset_id', '固资编号', 'singlechar', { required: true }),
      attr('bk_firewall', 'bk_sn', '设备SN', 'singlechar'),
      attr('bk_firewall', 'zone', '区域', 'list', { option: ['dmz', 'core', 'edge'] }),
      attr('bk_firewall', 'throughput', '吞吐量', 'float', { option: { min: '0', max: '' }, unit: 'Gbps' }),
      // Not editable: batch_update_inst silently drops it.
      attr('bk_firewall', 'online_at', '上线时间', 'time', { editable: false }),
      attr('bk_firewall', 'owner', '负责人', 'objuser', { multiple: false }),
      attr('bk_firewall', 'peer', '对端交换机', 'enumquote', { multiple: false, option: [{ bk_obj_id: 'bk_switch', bk_inst_id: 1001 }, { bk_obj_id: 'bk_switch', bk_inst_id: 1002 }] }),
    ], [['bk_asset_id'], ['bk_sn', 'zone']]),
    model('host', true, 'bk_host_id', [
      attr('host', 'bk_host_innerip', '内网IP', 'singlechar', { required: true, only: true, editable: false }),
      attr('host', 'bk_cloud_id', '管控区域', 'int', { required: true, only: true, editable: false }),
      attr('host', 'bk_host_name', '主机名称', 'singlechar'),
      attr('host', 'bk_os_type', '操作系统类型', 'enum', { option: [opt('1', 'Linux'), opt('2', 'Windows'), opt('3', 'AIX')] }),
      attr('host', 'operator', '主要维护人', 'objuser', { multiple: true }),
      attr('host', 'bk_comment', '备注', 'longchar'),
    ], [['bk_cloud_id', 'bk_host_innerip']]),
  ];
  for (const b of ['biz', 'set', 'module', 'process', 'plat']) {
    models.push({ bk_obj_id: b, builtin: true, idField: `bk_${b === 'plat' ? 'cloud' : b === 'module' ? 'module' : b}_id`, attributes: [], uniques: [] });
  }
  return new Map(models.map((m) => [m.bk_obj_id, m]));
}

function buildObjectAssociations(): ObjectAssociation[] {
  return [
    { id: 1, bk_obj_asst_id: 'bk_switch_connect_host', bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', bk_asst_id: 'connect', mapping: 'n:n', on_delete: 'none' },
    { id: 2, bk_obj_asst_id: 'bk_firewall_connect_bk_switch', bk_obj_id: 'bk_firewall', bk_asst_obj_id: 'bk_switch', bk_asst_id: 'connect', mapping: '1:1', on_delete: 'none' },
    { id: 3, bk_obj_asst_id: 'bk_firewall_contain_bk_switch', bk_obj_id: 'bk_firewall', bk_asst_obj_id: 'bk_switch', bk_asst_id: 'contain', mapping: '1:n', on_delete: 'none' },
  ];
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const VENDORS = ['cisco', 'huawei', 'h3c'];

export class SimStore {
  models = new Map<string, Model>();
  objectAssociations: ObjectAssociation[] = [];
  /** Per model id: instance id -> row (row includes the id field and bk_obj_id). */
  private data = new Map<string, Map<number, Row>>();
  private procs = new Map<number, Row>();
  /** Process template id per process id (the process instance relation); absent: no template. */
  private procTemplate = new Map<number, number>();
  private templates = new Map<number, ProcTemplate>();
  private assts = new Map<number, InstAssociation>();
  /** Per "namespace/object": record _id -> record. */
  private feishu = new Map<string, Map<string, Row>>();
  nextInstId = FIRST_INST_ID;
  nextAsstId = 1;
  /** Bumped by every change to instances (seed, insert, update, delete): handlers may cache what they derive from them. */
  version = 0;
  nextFeishuId = FIRST_FEISHU_ID;

  constructor(readonly world: SimWorld = 'default') {
    this.seed();
  }

  /** Back to the seeded world. */
  seed(): void {
    this.version++;
    this.models = buildModels();
    this.objectAssociations = buildObjectAssociations();
    this.data = new Map();
    this.procs = new Map();
    this.procTemplate = new Map();
    this.templates = new Map();
    this.assts = new Map();
    this.feishu = new Map();
    this.nextInstId = FIRST_INST_ID;
    this.nextAsstId = 1;
    this.nextFeishuId = FIRST_FEISHU_ID;
    for (const m of this.models.keys()) this.data.set(m, new Map());

    const hosts = this.data.get('host')!;
    for (let i = 1; i <= 200; i++) {
      hosts.set(i, {
        bk_host_id: i, bk_obj_id: 'host', bk_host_innerip: `10.0.${Math.floor(i / 256)}.${i % 256}`,
        bk_cloud_id: 0, bk_host_name: `host-${pad(i, 3)}`, bk_os_type: '1', operator: 'admin', bk_comment: '',
      });
    }
    // A process document holds the fields of the server's Process struct (metadata.Process).
    const proc = (id: number, biz: number, i: number): Row => ({
      bk_process_id: id, bk_biz_id: biz, bk_supplier_account: '0',
      bk_func_name: i % 2 ? 'java' : 'nginx', bk_process_name: `proc-${id}`, description: '',
      user: 'root', work_path: `/data/app/${id}`, pid_file: `/data/app/${id}/pid`,
      start_cmd: './start.sh', stop_cmd: './stop.sh', restart_cmd: './restart.sh', reload_cmd: '', face_stop_cmd: '',
      proc_num: 1, priority: 1, timeout: 30, auto_start: false, bk_start_check_secs: 5, bk_start_param_regex: '',
      bind_info: [{ enable: true, ip: '127.0.0.1', port: String(8000 + (id % 1000)), protocol: '1', template_row_id: 1 }],
    });
    for (let id = 1001; id <= 1500; id++) this.procs.set(id, proc(id, 2, id));
    for (let id = 2001; id <= 2010; id++) this.procs.set(id, proc(id, 3, id));
    // Processes 1491..1500 were created from process template 7, which locks start_cmd, stop_cmd and user.
    this.templates.set(7, { id: 7, bk_process_name: 'nginx', bk_biz_id: 2, service_template_id: 3, locked: ['start_cmd', 'stop_cmd', 'user'] });
    for (let id = 1491; id <= 1500; id++) this.procTemplate.set(id, 7);

    if (this.world === 'empty-extra') return;

    for (let i = 1; i <= 20; i++) {
      this.insert('bk_switch', {
        bk_inst_name: `switch-exist-${pad(i, 2)}`, bk_asset_id: `SW-EXIST-${pad(i, 4)}`, bk_sn: `SN-SW-${pad(i, 4)}`,
        bk_operator: 'admin', port_count: 48, is_managed: true, vendor: VENDORS[i % 3], bought_on: '2023-03-01',
        remark: null, tags: ['access'],
      });
    }
    for (let i = 1; i <= 5; i++) {
      this.insert('bk_firewall', {
        bk_inst_name: `fw-exist-${pad(i, 2)}`, bk_asset_id: `FW-EXIST-${pad(i, 4)}`, bk_sn: `SN-FW-${pad(i, 4)}`,
        zone: ['dmz', 'core', 'edge'][i % 3], throughput: 10.5, online_at: '2023-03-01 10:00:00',
      });
    }
    // Switch 1001 connects hosts 1 and 2, switch 1002 host 3; firewall 1021 connects switch 1020 (1:1);
    // firewall 1022 contains switches 1018 and 1019 (1:n).
    this.associate('bk_switch_connect_host', 1001, 1);
    this.associate('bk_switch_connect_host', 1001, 2);
    this.associate('bk_switch_connect_host', 1002, 3);
    this.associate('bk_firewall_connect_bk_switch', 1021, 1020);
    this.associate('bk_firewall_contain_bk_switch', 1022, 1018);
    this.associate('bk_firewall_contain_bk_switch', 1022, 1019);

    const devices = this.table('package_demo__c', 'device');
    for (let i = 1; i <= 50; i++) {
      const id = String(this.nextFeishuId++);
      devices.set(id, { _id: id, name: `device-${pad(i, 3)}`, serial_no: `DEV-SN-${pad(i, 4)}`, status: 'online', cpu_cores: 8, location: `rack-${pad((i % 10) + 1, 2)}` });
    }
  }

  // ---- CMDB instances -------------------------------------------------------

  idField(objId: string): string {
    return this.models.get(objId)?.idField ?? 'bk_inst_id';
  }

  /** Live map of one model's instances (internal use by handlers). */
  instanceMap(objId: string): Map<number, Row> {
    let m = this.data.get(objId);
    if (!m) this.data.set(objId, (m = new Map()));
    return m;
  }

  /** Instances of a model, sorted by id. Each row: `{bk_inst_id (bk_host_id for host), bk_obj_id, ...fields}` (copies). */
  instances(objId: string): Row[] {
    return [...this.instanceMap(objId).values()].map((r) => ({ ...r }));
  }

  instance(objId: string, id: number): Row | undefined {
    const r = this.instanceMap(objId).get(id);
    return r && { ...r };
  }

  /** Instance whose field equals value (e.g. bk_asset_id), if any. */
  findBy(objId: string, field: string, value: unknown): Row | undefined {
    for (const r of this.instanceMap(objId).values()) if (r[field] === value) return { ...r };
    return undefined;
  }

  hosts(): Row[] {
    return this.instances('host');
  }

  /** Creates an instance with the next global id and returns the id. */
  insert(objId: string, fields: Row): number {
    this.version++;
    const id = this.nextInstId++;
    this.instanceMap(objId).set(id, { [this.idField(objId)]: id, bk_obj_id: objId, ...fields });
    return id;
  }

  // ---- processes ------------------------------------------------------------

  processMap(): Map<number, Row> {
    return this.procs;
  }

  /** All processes sorted by bk_process_id (copies). */
  processes(): Row[] {
    return [...this.procs.values()].map((r) => structuredClone(r));
  }

  process(id: number): Row | undefined {
    const r = this.procs.get(id);
    return r && structuredClone(r);
  }

  /** The process template a process was created from, if any. */
  templateOf(processId: number): ProcTemplate | undefined {
    const t = this.procTemplate.get(processId);
    return t === undefined ? undefined : this.templates.get(t);
  }

  template(id: number): ProcTemplate | undefined {
    return this.templates.get(id);
  }

  // ---- associations ---------------------------------------------------------

  objectAssociation(bkObjAsstId: string): ObjectAssociation | undefined {
    return this.objectAssociations.find((a) => a.bk_obj_asst_id === bkObjAsstId);
  }

  associationMap(): Map<number, InstAssociation> {
    return this.assts;
  }

  /** Instance associations sorted by id (copies). */
  associations(bkObjAsstId?: string): InstAssociation[] {
    return [...this.assts.values()].filter((a) => !bkObjAsstId || a.bk_obj_asst_id === bkObjAsstId).map((a) => ({ ...a }));
  }

  /** Adds an instance association without checks (seeding and handlers after their checks). */
  associate(bkObjAsstId: string, instId: number, asstInstId: number): number {
    const kind = this.objectAssociation(bkObjAsstId);
    if (!kind) throw new Error(`unknown association kind ${bkObjAsstId}`);
    const id = this.nextAsstId++;
    this.assts.set(id, {
      id, bk_obj_asst_id: kind.bk_obj_asst_id, bk_asst_id: kind.bk_asst_id, bk_obj_id: kind.bk_obj_id,
      bk_asst_obj_id: kind.bk_asst_obj_id, bk_inst_id: instId, bk_asst_inst_id: asstInstId,
    });
    return id;
  }

  // ---- Feishu records -------------------------------------------------------

  /** Live map of one object's records (internal use by handlers). */
  table(namespace: string, object: string): Map<string, Row> {
    const key = `${namespace}/${object}`;
    let t = this.feishu.get(key);
    if (!t) this.feishu.set(key, (t = new Map()));
    return t;
  }

  /** Records of `namespace/object` in creation order, each `{_id, ...fields}` (copies). */
  records(namespace: string, object: string): Row[] {
    return [...this.table(namespace, object).values()].map((r) => ({ ...r }));
  }

  /** The whole store as plain JSON (GET /__sim/state). */
  snapshot(): SimStateSnapshot {
    const instances: Record<string, Row[]> = {};
    for (const [obj, m] of this.data) if (m.size || !this.models.get(obj)?.builtin) instances[obj] = [...m.values()];
    const records: Record<string, Row[]> = {};
    for (const [k, t] of this.feishu) records[k] = [...t.values()];
    return {
      world: this.world,
      models: [...this.models.values()].map((m) => ({ bk_obj_id: m.bk_obj_id, builtin: m.builtin, idField: m.idField, attributes: m.attributes, uniques: m.uniques })),
      objectAssociations: this.objectAssociations,
      instances,
      processes: [...this.procs.values()],
      instAssociations: [...this.assts.values()],
      records,
      sequences: { nextInstId: this.nextInstId, nextAsstId: this.nextAsstId, nextFeishuId: String(this.nextFeishuId) },
    };
  }
}

export interface SimStateSnapshot {
  world: SimWorld;
  models: { bk_obj_id: string; builtin: boolean; idField: string; attributes: Attribute[]; uniques: ObjectUnique[] }[];
  objectAssociations: ObjectAssociation[];
  /** Per model id (host included), rows sorted by id. */
  instances: Record<string, Row[]>;
  processes: Row[];
  instAssociations: InstAssociation[];
  /** Per "namespace/object". */
  records: Record<string, Row[]>;
  sequences: { nextInstId: number; nextAsstId: number; nextFeishuId: string };
}
