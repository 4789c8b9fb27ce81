/**
 * Which fields identify an instance. CMDB keeps uniqueness in unique rules, not in `isonly` (only bk_inst_name
 * carries isonly): each rule is a list of attribute ids whose values together are unique (bk-cmdb
 * src/common/metadata/unique.go ObjectUnique). The gateway reads them (POST /api/v3/find/objectunique/object/{obj},
 * topo_server service/unique.go SearchObjectUnique); the ESB has no component for it, so there the tool accepts the
 * field the user names and treats a value that several instances share as a conflict, never as found.
 */
import { UsageError } from '../../core/errors.js';
import { didYouMean } from '../../schema/fields.js';
import type { CmdbAttribute } from '../../schema/model.js';
import type { OperationContext } from '../types.js';
import { envelopeError, requireCmdb } from './common.js';

/** Each rule as the property ids of its keys; undefined when the front door cannot read them (ESB). */
export type UniqueRules = string[][] | undefined;

export async function fetchUniqueRules(ctx: OperationContext, objId: string, attrs: CmdbAttribute[]): Promise<UniqueRules> {
  const api = requireCmdb(ctx);
  if (api.gateway !== 'apigw') return undefined;
  const env = await api.call('search_object_unique', { bk_obj_id: objId }, { idempotent: true, signal: ctx.signal });
  if (!env.result) throw new UsageError(`cannot read the unique rules of model "${objId}": ${envelopeError(env)}`, 'check --obj, and that the app may call search_object_unique on the gateway');
  const byId = new Map(attrs.filter((a) => a.id !== undefined).map((a) => [a.id, a.bk_property_id]));
  return env.data
    .map((u) => u.keys.filter((k) => k.key_kind === 'property').map((k) => byId.get(k.key_id)))
    .filter((fields): fields is string[] => fields.length > 0 && fields.every((f) => f !== undefined));
}

export const ruleText = (rules: string[][]) => rules.map((r) => r.join(' + ')).join('; ');

/**
 * Whether `key` can name instances of `objId`. Refused: not a field of the model, or (rules known) a field in no unique
 * rule. Accepted with a note: a field of a multi-field rule (unique only together with the others), or any field when
 * the rules cannot be read (ESB); then a value several instances share makes that row a conflict.
 */
export function checkKey(attrs: CmdbAttribute[], rules: UniqueRules, objId: string, key: string): { problem?: string; note?: string; numeric: boolean } {
  const a = attrs.find((x) => x.bk_property_id === key);
  const listed = rules ? `; its unique rules: ${ruleText(rules)}` : '';
  if (!a) {
    const near = didYouMean(key, attrs.map((x) => x.bk_property_id));
    return { problem: `${objId} has no field "${key}"${near ? ` (did you mean "${near}"?)` : ''}${listed}`, numeric: false };
  }
  const numeric = a.bk_property_type === 'int' || a.bk_property_type === 'float';
  if (!rules) {
    return { numeric, note: `note: the ESB cannot read ${objId}'s unique rules; instances are named by ${key} as given, and a ${key} value that several instances share is a conflict (the row is invalid)` };
  }
  const mine = rules.filter((r) => r.includes(key));
  if (mine.length === 0) return { problem: `${key} is in no unique rule of ${objId}, so it cannot name one instance${listed}`, numeric };
  if (mine.some((r) => r.length === 1)) return { numeric };
  const others = [...new Set(mine.flatMap((r) => r.filter((f) => f !== key)))];
  return { numeric, note: `note: ${key} is unique in ${objId} only together with ${others.join(', ')}; a ${key} value that several instances share is a conflict (the row is invalid)` };
}

/**
 * The single-field rules an unclear create can be checked by, in rule order. Without rules (ESB): the field the user
 * named with --key, else the isonly fields (bk_inst_name).
 */
export function lookupFields(attrs: CmdbAttribute[], rules: UniqueRules, key: string | undefined): string[] {
  if (key) return [key];
  if (rules) return rules.filter((r) => r.length === 1).map((r) => r[0]!);
  return attrs.filter((a) => a.isonly).map((a) => a.bk_property_id);
}
