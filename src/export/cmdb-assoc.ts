/**
 * `export --assoc <kind> --format cmdb-xlsx`: the associations of one kind as CMDB's own `association` sheet names
 * them — not by id but each instance by "display name=value" pairs of the fields of one unique rule of its model
 * (`实例名=sw-01`, `管控区域=0,内网IP=10.0.0.1`), so that CMDB's web UI imports the file, and `associate` too.
 *
 * Read from TencentBlueKing/bk-cmdb (master 111e7ac):
 * - web_server/service/excel/operator/inst/exporter/exporter.go, getInstAsst / getInstAsstData: one row per
 *   association, its bk_obj_asst_id, the source and the target instance;
 * - web_server/service/excel/core/asst_func.go, GetInstUniqueKeys: an instance as `bk_property_name=value` for each
 *   field of the unique rule chosen in the UI, joined by "," (common/definitions.go ExcelAsstPrimaryKeyJoinChar "=",
 *   ExcelAsstPrimaryKeySplitChar ","), the value as the server holds it, as text;
 * - scene_server/topo_server/logics/operation/import_association.go: the import splits the text on "," then on "="
 *   (parseImportDataPrimaryItem), needs exactly the fields of the rule the user picks in the UI, and finds the
 *   instance whose `name=value` texts equal the pairs (findInst, buildPrimaryStr). So a value holding "," or "=" cannot
 *   be written (its pairs would not split back), and neither can an empty one.
 *
 * Which rule: the model's preset rule (`ispre`, the one CMDB made with the model: bk_inst_name for a custom model,
 * bk_cloud_id + bk_host_innerip for host — admin_server/upgrader/history/x18.11.19.01/reconcil_unique.go), else its
 * first rule; read with search_object_unique on the gateway. The ESB cannot read rules: there the preset rule is
 * assumed (api-notes §5: every custom model has the rule on bk_inst_name).
 */
import { UsageError } from '../core/errors.js';
import type { CmdbApi } from '../http/cmdb.js';
import { KeyResolver, envelopeError, type Instance } from '../operations/cmdb/common.js';
import { BUILTIN_MODELS, type CmdbAttribute } from '../schema/model.js';
import { associationPages, type Pages } from './cmdb-pages.js';
import type { Row } from './sink.js';

/** The columns of a row of the association sheet, under the names `associate` reads them by (src/input/xlsx-cmdb.ts). */
export const NAMED_ASSOC_COLUMNS = ['bk_obj_asst_id', 'operate', 'src_primary_key', 'dst_primary_key'];

/** How the instances of one model are named: its id field, and the fields (id, display name) of one unique rule. */
export interface NamingRule {
  obj: string;
  idField: string;
  fields: Array<{ id: string; name: string }>;
  /** Where the rule came from, for the note: the server's rules, or the preset one assumed (ESB). */
  from: 'server' | 'assumed';
}

/** Associations left out of the sheet (their instances cannot be named): how many, and the first few reasons. */
export interface LeftOut {
  count: number;
  examples: string[];
}

const PRESET: Record<string, string[]> = { host: ['bk_cloud_id', 'bk_host_innerip'] };
const CUSTOM_PRESET = ['bk_inst_name'];

type UniqueRule = { keys: Array<{ key_kind: string; key_id: number }>; ispre?: unknown };

/** The rule that names `obj`'s instances in the sheet (see the head of this file). */
export async function namingRule(api: CmdbApi, obj: string, attrs: CmdbAttribute[], signal?: AbortSignal): Promise<NamingRule> {
  if (BUILTIN_MODELS.has(obj) && obj !== 'host') {
    throw new UsageError(`--format cmdb-xlsx names each instance by its fields, and "${obj}" is a built-in model whose instances cannot be read by field (search_object_instances refuses it, code 1199084)`, 'export these associations by id: --format csv or --format xlsx');
  }
  let ids = PRESET[obj] ?? CUSTOM_PRESET;
  let from: NamingRule['from'] = 'assumed';
  if (api.gateway === 'apigw') {
    const env = await api.call('search_object_unique', { bk_obj_id: obj }, { idempotent: true, signal });
    if (!env.result) throw new UsageError(`cannot read the unique rules of model "${obj}": ${envelopeError(env)}`, 'check that the app may call search_object_unique on the gateway, or export by id with --format csv');
    const byId = new Map(attrs.map((a) => [a.id, a.bk_property_id]));
    const rules = (env.data as UniqueRule[])
      .map((u) => ({ pre: u.ispre === true, fields: u.keys.filter((k) => k.key_kind === 'property').map((k) => byId.get(k.key_id)) }))
      .filter((r): r is { pre: boolean; fields: string[] } => r.fields.length > 0 && r.fields.every((f) => f !== undefined));
    const pick = rules.find((r) => r.pre) ?? rules[0];
    if (!pick) throw new UsageError(`model "${obj}" has no unique rule on its fields, so CMDB's association sheet cannot name its instances`, 'export these associations by id: --format csv or --format xlsx');
    ids = pick.fields;
    from = 'server';
  }
  const fields = ids.map((id) => {
    const a = attrs.find((x) => x.bk_property_id === id);
    if (!a) throw new UsageError(`model "${obj}" has no field ${id}, the field its instances would be named by in CMDB's association sheet`, 'export these associations by id: --format csv or --format xlsx');
    return { id, name: (a.bk_property_name ?? id).trim() || id };
  });
  return { obj, idField: obj === 'host' ? 'bk_host_id' : 'bk_inst_id', fields, from };
}

/** The rule as CMDB's import dialog shows it: the fields' display names joined by "+". */
export const ruleLabel = (r: NamingRule) => r.fields.map((f) => f.name).join(' + ');

const CANNOT_SPLIT = /[,=]/;

/** An instance named as CMDB's sheet names it (`name=value,name=value`), or why it cannot be. */
export function primaryText(rule: NamingRule, inst: Instance | undefined): { text: string } | { problem: string } {
  if (!inst) return { problem: `${rule.obj} instance not found (deleted while the export ran)` };
  const pairs: string[] = [];
  for (const f of rule.fields) {
    const v = inst[f.id];
    const value = Array.isArray(v) ? v.join(',') : v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    if (value === '') return { problem: `${rule.obj} ${String(inst[rule.idField])} has no ${f.id}` };
    if (CANNOT_SPLIT.test(value) || CANNOT_SPLIT.test(f.name) || value.trim() !== value) {
      return { problem: `${rule.obj} ${String(inst[rule.idField])}: ${f.name}=${value} cannot be written as a pair ("," and "=" separate the pairs; spaces around a value are lost)` };
    }
    pairs.push(`${f.name}=${value}`);
  }
  return { text: pairs.join(',') };
}

/** Looks instances up by id (a page's worth at a time), with the fields of their rule. */
function finder(api: CmdbApi, rule: NamingRule, signal?: AbortSignal): (ids: number[]) => Promise<Map<string, Instance[]>> {
  const r = new KeyResolver(api, rule.obj, rule.idField, signal ?? new AbortController().signal, 10_000, true, rule.fields.map((f) => f.id), true);
  return (ids) => r.find(ids.map(String));
}

/**
 * The associations of one kind, a page at a time, each as a row of CMDB's association sheet (operation `add`); an
 * association whose source or target cannot be named is left out and counted in `leftOut`.
 */
export function namedAssociationPages(
  api: CmdbApi,
  o: { asstId: string; src: NamingRule; dst: NamingRule; pageSize: number; signal?: AbortSignal },
): Pages & { leftOut: LeftOut } {
  const leftOut: LeftOut = { count: 0, examples: [] };
  const findSrc = finder(api, o.src, o.signal);
  const findDst = o.dst.obj === o.src.obj ? findSrc : finder(api, o.dst, o.signal);
  const inner = associationPages(api, { obj: o.src.obj, asstId: o.asstId, pageSize: o.pageSize, signal: o.signal });
  async function* pages(): AsyncGenerator<Row[]> {
    for await (const rows of inner.pages) {
      const srcs = await findSrc(rows.map((r) => Number(r.bk_inst_id)));
      const dsts = await findDst(rows.map((r) => Number(r.bk_asst_inst_id)));
      const out: Row[] = [];
      for (const r of rows) {
        const src = primaryText(o.src, srcs.get(String(r.bk_inst_id))?.[0]);
        const dst = primaryText(o.dst, dsts.get(String(r.bk_asst_inst_id))?.[0]);
        if ('text' in src && 'text' in dst) {
          out.push({ bk_obj_asst_id: o.asstId, operate: 'add', src_primary_key: src.text, dst_primary_key: dst.text });
          continue;
        }
        leftOut.count++;
        const why = 'problem' in src ? src.problem : (dst as { problem: string }).problem;
        if (leftOut.examples.length < 5) leftOut.examples.push(`association ${String(r.id)} (${String(r.bk_inst_id)} → ${String(r.bk_asst_inst_id)}): ${why}`);
      }
      yield out;
    }
  }
  return { pages: pages(), leftOut };
}
