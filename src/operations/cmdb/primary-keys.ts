/**
 * Instances named as CMDB's association sheet names them: "field display name=value" pairs of one of the model's
 * unique rules, joined by "," — `实例名=sw-01`, `内网IP=10.0.0.1,管控区域=0` (bk-cmdb common/definitions.go
 * ExcelAsstPrimaryKeyJoinChar "=" and ExcelAsstPrimaryKeySplitChar ","). CMDB's export writes them from the
 * instance's values (web_server/service/excel/core/asst_func.go GetInstUniqueKeys: bk_property_name=value for each
 * field of the rule chosen in the UI); its import reads them back (topo_server/logics/operation/
 * import_association.go: parseImportDataPrimaryItem splits on "," then "=", maps each display name to a field of the
 * rule and enum names to ids (convStrToCCType); findInst takes an instance that has every pair).
 *
 * Here a name may also be the field id, and a text naming several instances is refused with their ids rather than
 * the first taken (the rule chosen in CMDB's UI is not in the file, so the pairs must single out one instance).
 */
import type { CmdbApi } from '../../http/cmdb.js';
import { BUILTIN_MODELS, type CmdbAttribute } from '../../schema/model.js';
import type { CheckedRow } from '../types.js';
import { KeyResolver, type Instance, type KeyTally } from './common.js';

export interface PrimaryPair {
  name: string;
  value: string;
}

const FORMAT_HINT = 'write "field name=value", several joined by "," (e.g. 实例名=sw-01, or 内网IP=10.0.0.1,管控区域=0)';

/** The pairs of a primary-key text, or why it is not one. */
export function parsePrimary(text: string): PrimaryPair[] | string {
  const pairs: PrimaryPair[] = [];
  for (const part of text.split(',')) {
    const kv = part.split('=');
    if (kv.length !== 2 || kv[0]!.trim() === '' || kv[1]!.trim() === '') return `"${text}" is not a list of field=value pairs: ${FORMAT_HINT}`;
    pairs.push({ name: kv[0]!.trim(), value: kv[1]!.trim() });
  }
  return pairs;
}

type Option = { id?: unknown; name?: unknown };

/** An enum cell names its option by display name (CMDB's getEnumIDByName); the option id is what is stored. */
function storedText(a: CmdbAttribute, text: string): string {
  if (a.bk_property_type !== 'enum' || !Array.isArray(a.option)) return text;
  const byName = (a.option as Option[]).find((o) => o.name === text);
  return byName && typeof byName.id === 'string' ? byName.id : text;
}

/** Whether an instance's value is the one a pair names (compared as text, as CMDB's findInst does). */
function sameValue(a: CmdbAttribute, value: unknown, text: string): boolean {
  if (value === undefined || value === null) return false;
  switch (a.bk_property_type) {
    case 'int':
    case 'float':
      return Number(text) === value;
    case 'bool':
      return String(value) === text.toLowerCase();
    default:
      return String(value) === storedText(a, text);
  }
}

/** Resolves primary-key texts to the ids of one model's instances. */
export class PrimaryResolver {
  private readonly byKey = new Map<string, KeyResolver>();

  constructor(
    private readonly api: CmdbApi,
    readonly objId: string,
    private readonly attrs: CmdbAttribute[],
    private readonly signal: AbortSignal,
  ) {}

  /** The field a pair's name stands for: its display name, else its id. */
  private fieldOf(name: string): CmdbAttribute | undefined {
    const byName = this.attrs.filter((a) => a.bk_property_name?.trim() === name);
    if (byName.length === 1) return byName[0];
    return this.attrs.find((a) => a.bk_property_id === name);
  }

  /**
   * Writes the id of the one instance each row's text (in `payload[target]`) names into `payload[target]`, or adds
   * an error. Rows whose `payload[target]` is not a string are left alone.
   */
  async resolveColumn(rows: CheckedRow[], column: string, target: string, tally?: KeyTally): Promise<void> {
    const pending = rows.filter((r) => typeof r.payload[target] === 'string');
    if (pending.length === 0) return;
    const fail = (r: CheckedRow, value: string, message: string) => r.errors.push({ field: column, value, message: `${column}: ${message}` });
    if (BUILTIN_MODELS.has(this.objId) && this.objId !== 'host') {
      for (const r of pending) fail(r, r.payload[target] as string, `${this.objId} instances cannot be looked up by a field (search_object_instances refuses built-in models, code 1199084); name them by id in a bk_inst_id / bk_asst_inst_id column`);
      return;
    }
    // Rows by the field of their first pair: one look-up over that field's values, then the other pairs filter.
    const groups = new Map<string, Array<{ r: CheckedRow; text: string; fields: Array<[CmdbAttribute, string]> }>>();
    for (const r of pending) {
      const text = r.payload[target] as string;
      const pairs = parsePrimary(text);
      if (typeof pairs === 'string') {
        fail(r, text, pairs);
        continue;
      }
      const fields: Array<[CmdbAttribute, string]> = [];
      const unknown = pairs.filter((p) => !this.fieldOf(p.name)).map((p) => `"${p.name}"`);
      if (unknown.length) {
        fail(r, text, `${this.objId} has no field ${unknown.join(', ')} (the names are the fields' display names, as CMDB's export writes them, or their ids)`);
        continue;
      }
      for (const p of pairs) fields.push([this.fieldOf(p.name)!, p.value]);
      const first = fields[0]![0].bk_property_id;
      let g = groups.get(first);
      if (!g) groups.set(first, (g = []));
      g.push({ r, text, fields });
    }
    for (const [key, group] of groups) {
      const others = [...new Set(group.flatMap((x) => x.fields.slice(1).map(([a]) => a.bk_property_id)))];
      const resolver = this.resolverFor(key, group[0]!.fields[0]![0], others);
      const found = await resolver.find(group.map((x) => storedText(x.fields[0]![0], x.fields[0]![1])));
      for (const { r, text, fields } of group) {
        const [a0, v0] = fields[0]!;
        const matches = (found.get(storedText(a0, v0)) ?? []).filter((inst: Instance) => fields.slice(1).every(([a, v]) => sameValue(a, inst[a.bk_property_id], v)));
        const ids = matches.map((inst) => Number(inst[resolver.idField]));
        if (ids.length === 1) {
          r.payload[target] = ids[0];
          r.detail = [r.detail, `${column} ${text} → ${ids[0]}`].filter(Boolean).join('; ');
          tally?.resolved.add(text);
        } else if (ids.length === 0) {
          fail(r, text, `no ${this.objId} instance has ${text}`);
          tally?.missing.add(text);
        } else {
          fail(r, text, `${ids.length} ${this.objId} instances have ${text} (ids ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}); add the other fields of a unique rule (name=value joined by ",") or name the instance by its id`);
          tally?.ambiguous.add(text);
        }
      }
    }
  }

  private resolverFor(key: string, attr: CmdbAttribute, others: string[]): KeyResolver {
    const k = `${key}\u0000${others.join(',')}`;
    let r = this.byKey.get(k);
    if (!r) {
      const numeric = attr.bk_property_type === 'int' || attr.bk_property_type === 'float';
      r = new KeyResolver(this.api, this.objId, key, this.signal, undefined, numeric, others);
      this.byKey.set(k, r);
    }
    return r;
  }
}
