/**
 * enumquote fields (枚举(引用)): the value is a list of ids of another model's instances; the attribute's option names
 * that model (`[{bk_obj_id, bk_inst_id}]`, common/metadata/attribute.go ParseEnumQuoteOption), and the server checks
 * that every id is an instance of it (source_controller/coreservice/core/instances/instance_validate.go
 * validInstIDs). CMDB's Excel export writes the quoted instances' names instead, joined by "\n"
 * (web_server/service/excel/core/field_func.go TransEnumQuoteIDToName: the model's name field, bk_inst_name for
 * custom models, common/mapping.go GetInstNameField), and its import looks the names up again
 * (TransEnumQuoteNameToID: every instance whose name is in the list; a name that matches none is dropped silently).
 *
 * Here a cell may hold ids (digits) or names; each name must name exactly one instance of the quoted model: none or
 * several makes the row invalid, naming the choices, before anything is sent.
 */
import type { CmdbApi } from '../../http/cmdb.js';
import { compileField, LIST_SEPARATOR, type Checker } from '../../schema/fields.js';
import { attributeToField, BUILTIN_MODELS, type CmdbAttribute } from '../../schema/model.js';
import type { FieldError } from '../../schema/rows.js';
import type { CheckedRow } from '../types.js';
import { KeyResolver } from './common.js';

interface Quoted {
  field: string;
  obj: string; // the quoted model
  check: Checker; // the field's own check, on the ids
}

/** The name field of a model's instances (common/mapping.go GetInstNameField), for the models a name can be looked up in. */
function nameField(obj: string): string | undefined {
  if (obj === 'host') return 'bk_host_name';
  return BUILTIN_MODELS.has(obj) ? undefined : 'bk_inst_name';
}

/** The items of an enumquote value that was not already a list of ids: ids as numbers, names as text. */
function items(v: unknown): Array<number | string> | undefined {
  let list: unknown[];
  if (Array.isArray(v)) list = v;
  else if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(t);
        list = Array.isArray(parsed) ? parsed : [t];
      } catch {
        list = [t];
      }
    } else list = t.split(t.includes('\n') ? '\n' : LIST_SEPARATOR);
  } else return undefined;
  const out: Array<number | string> = [];
  for (const x of list) {
    if (typeof x === 'number' && Number.isInteger(x) && x > 0) out.push(x);
    else if (typeof x === 'string' && x.trim() !== '') out.push(/^\d+$/.test(x.trim()) ? Number(x.trim()) : x.trim());
    else if (!(typeof x === 'string')) return undefined;
  }
  return out.length && out.some((x) => typeof x === 'string') ? out : undefined;
}

export class EnumQuotes {
  private readonly byField: Map<string, Quoted>;
  private readonly resolvers = new Map<string, KeyResolver>();

  private constructor(
    quoted: Quoted[],
    private readonly api: CmdbApi | undefined,
    private readonly signal: AbortSignal,
  ) {
    this.byField = new Map(quoted.map((q) => [q.field, q]));
  }

  /** The model's enumquote fields whose option names the quoted model; undefined when it has none. */
  static of(attrs: CmdbAttribute[], api: CmdbApi | undefined, signal: AbortSignal): EnumQuotes | undefined {
    const quoted: Quoted[] = [];
    for (const a of attrs) {
      if (a.bk_property_type !== 'enumquote' || !Array.isArray(a.option)) continue;
      const obj = (a.option as Array<{ bk_obj_id?: unknown }>)[0]?.bk_obj_id;
      if (typeof obj === 'string' && obj !== '') quoted.push({ field: a.bk_property_id, obj, check: compileField(attributeToField(a)) });
    }
    return quoted.length ? new EnumQuotes(quoted, api, signal) : undefined;
  }

  /**
   * After the field checks: an enumquote value that holds names is not an error yet. Its error is taken back and the
   * names go to the payload, to be resolved (resolve) before the row can be sent.
   */
  relax(errors: FieldError[], payload: Record<string, unknown>): void {
    for (let i = errors.length - 1; i >= 0; i--) {
      const e = errors[i]!;
      if (e.field === undefined || !this.byField.has(e.field)) continue;
      const list = items(e.value);
      if (!list) continue;
      errors.splice(i, 1);
      payload[e.field] = list;
    }
  }

  /** Names → ids in every row's payload (`payloadOf`), or an error naming the choices. Offline, names stay errors. */
  async resolve(rows: CheckedRow[], payloadOf: (r: CheckedRow) => Record<string, unknown>): Promise<void> {
    for (const q of this.byField.values()) {
      const pending = rows.filter((r) => Array.isArray(payloadOf(r)[q.field]) && (payloadOf(r)[q.field] as unknown[]).some((x) => typeof x === 'string'));
      if (pending.length === 0) continue;
      const key = nameField(q.obj);
      if (!this.api || !key) {
        const why = !this.api ? 'names cannot be looked up without a server connection' : `${q.obj} instances cannot be looked up by name (a built-in model)`;
        for (const r of pending) r.errors.push({ field: q.field, value: payloadOf(r)[q.field], message: `${q.field}: ${why}; write the ids of the ${q.obj} instances` });
        continue;
      }
      const resolver = this.resolverFor(q.obj, key);
      const names = pending.flatMap((r) => (payloadOf(r)[q.field] as unknown[]).filter((x): x is string => typeof x === 'string'));
      const found = await resolver.lookup(names);
      for (const r of pending) {
        const payload = payloadOf(r);
        const ids: number[] = [];
        const problems: string[] = [];
        for (const x of payload[q.field] as Array<number | string>) {
          if (typeof x === 'number') {
            ids.push(x);
            continue;
          }
          const match = found.get(x) ?? [];
          if (match.length === 1) ids.push(match[0]!);
          else if (match.length === 0) problems.push(`no ${q.obj} instance has ${key} "${x}"`);
          else problems.push(`${match.length} ${q.obj} instances have ${key} "${x}" (ids ${match.slice(0, 5).join(', ')}${match.length > 5 ? ', …' : ''}): write the id of the one you mean`);
        }
        if (problems.length) {
          r.errors.push({ field: q.field, value: payload[q.field], message: `${q.field}: ${problems.join('; ')} (the field takes ${q.obj} instances by ${key} or by id)` });
          continue;
        }
        const checked = q.check(ids, false);
        if (checked.error !== undefined) r.errors.push({ field: q.field, value: ids, message: `${q.field}: ${checked.error}` });
        else payload[q.field] = checked.value;
      }
    }
  }

  private resolverFor(obj: string, key: string): KeyResolver {
    let r = this.resolvers.get(obj);
    if (!r) this.resolvers.set(obj, (r = new KeyResolver(this.api!, obj, key, this.signal)));
    return r;
  }
}
