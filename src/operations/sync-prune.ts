/**
 * sync --prune: after the file is applied, delete the model's instances that the file does not name
 * (batch_delete_inst). Safe by default: nothing is deleted unless every row of the file names its instance, the
 * count is within --max-delete, and the user said --yes (or answered "y" in a terminal). batch_delete_inst refuses a
 * whole request when one instance still has associations (1101075): such a request is split until the instances
 * at fault stand alone, and those are reported, not deleted. Every instance considered is written to
 * `<report>.prune.ndjson` with its values before (`before`), which is what revert re-creates.
 */
import { writeFileSync } from 'node:fs';
import type { CmdbApi } from '../http/cmdb.js';
import type { InputSource } from '../input/index.js';
import type { CmdbAttribute } from '../schema/model.js';
import { envelopeError, keyText, KeyResolver, type Instance } from './cmdb/common.js';

/** The error of batch_delete_inst for an instance that still has associations (topo_server: CCErrorTopoInstHasAssociation). */
export const HAS_ASSOCIATION = 1101075;
/** batch_delete_inst's answer when an id is gone (a retry after an unclear answer, or someone else deleted it). */
const NOT_FOUND = 1199019;
const DELETE_BATCH = 200;

export interface PruneInput {
  api: CmdbApi;
  obj: string;
  key: string;
  source: InputSource;
  dryRun: boolean;
  yes: boolean;
  maxDelete?: number;
  /** Asks the user (a terminal); undefined when there is none (then --yes is required). */
  ask?: (question: string) => Promise<boolean>;
  reportPath: string | null;
  signal: AbortSignal;
}

export interface PruneResult {
  /** Instances the file does not name. */
  candidates: number;
  deleted: number;
  /** Not deleted: associations, or refused by the server. */
  kept: number;
  /** Why nothing was deleted, when so. */
  refused?: string;
  report?: string;
}

interface Line {
  status: 'ok' | 'failed' | 'unsent';
  action: 'delete';
  id: unknown;
  error_code?: string | number;
  error?: string;
  before: Instance;
  /** The model, as a report's `target` column: `revert <prune file>` needs nothing else. */
  target: string;
}

export async function prune(p: PruneInput): Promise<PruneResult> {
  const { named, unnamed } = await namedKeys(p.source, p.key);
  // Every field of each instance goes to the prune report's `before` (what revert re-creates).
  const env = await p.api.call('search_object_attribute', { bk_obj_id: p.obj }, { idempotent: true, signal: p.signal });
  const attrs = (Array.isArray(env.data) ? env.data : []) as CmdbAttribute[];
  const keyType = attrs.find((a) => a.bk_property_id === p.key)?.bk_property_type;
  const finder = new KeyResolver(p.api, p.obj, p.key, p.signal, undefined, keyType === 'int' || keyType === 'float', attrs.map((a) => a.bk_property_id));
  const idField = finder.idField;
  const doomed: Instance[] = [];
  for await (const page of finder.all()) for (const inst of page) if (!named.has(String(inst[p.key] ?? ''))) doomed.push(inst);
  const result: PruneResult = { candidates: doomed.length, deleted: 0, kept: 0 };
  const refuse = (why: string): PruneResult => ({ ...result, refused: why });
  if (p.dryRun) return result;
  if (doomed.length === 0) return result;
  if (unnamed > 0) return refuse(`${unnamed} row(s) of the file have no ${p.key} (or could not be read), so the file may name instances --prune cannot see: nothing deleted`);
  if (p.maxDelete !== undefined && doomed.length > p.maxDelete) return refuse(`${doomed.length} ${p.obj} instances are not in the file, more than --max-delete ${p.maxDelete}: nothing deleted (check the file, or raise --max-delete)`);
  if (!p.yes) {
    const sample = doomed.slice(0, 5).map((x) => String(x[p.key] ?? `id ${String(x[idField])}`)).join(', ');
    const question = `Delete ${doomed.length} ${p.obj} instance(s) that the file does not name (${sample}${doomed.length > 5 ? ', …' : ''})? [y/N] `;
    if (!p.ask) return refuse(`deleting ${doomed.length} ${p.obj} instance(s) needs --yes when the input is not a terminal: nothing deleted`);
    if (!(await p.ask(question))) return refuse('not confirmed: nothing deleted');
  }
  const lines: Line[] = [];
  for (let i = 0; i < doomed.length; i += DELETE_BATCH) await remove(p, idField, doomed.slice(i, i + DELETE_BATCH), lines);
  result.deleted = lines.filter((l) => l.status === 'ok').length;
  result.kept = lines.length - result.deleted;
  if (p.reportPath && p.reportPath !== '-') {
    result.report = `${p.reportPath}.prune.ndjson`;
    writeFileSync(result.report, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }
  return result;
}

/** The key values the file names, and how many rows name none (no key, or unreadable). */
async function namedKeys(source: InputSource, key: string): Promise<{ named: Set<string>; unnamed: number }> {
  const named = new Set<string>();
  let unnamed = 0;
  for await (const batch of source.batches()) {
    for (const rec of batch) {
      const v = rec.error ? undefined : keyText(rec.values[key]);
      if (v === undefined) unnamed++;
      else named.add(v);
    }
  }
  return { named, unnamed };
}

/** Deletes these instances; a request refused for an association is split until the instance at fault stands alone. */
async function remove(p: PruneInput, idField: string, insts: Instance[], lines: Line[]): Promise<void> {
  const env = await p.api.call('batch_delete_inst', { bk_obj_id: p.obj, delete: { inst_ids: insts.map((x) => x[idField]) } }, { idempotent: true, signal: p.signal });
  const line = (inst: Instance, status: Line['status'], extra: Partial<Line> = {}): Line => ({ status, action: 'delete', id: inst[idField], ...extra, before: inst, target: p.obj });
  if (env.result) {
    for (const inst of insts) lines.push(line(inst, 'ok'));
    return;
  }
  if ((env.code === HAS_ASSOCIATION || env.code === NOT_FOUND) && insts.length > 1) {
    const half = Math.ceil(insts.length / 2);
    await remove(p, idField, insts.slice(0, half), lines);
    await remove(p, idField, insts.slice(half), lines);
    return;
  }
  if (env.code === NOT_FOUND) {
    lines.push(line(insts[0]!, 'ok'));
    return;
  }
  const why = env.code === HAS_ASSOCIATION ? 'it still has associations: not deleted (remove them first)' : envelopeError(env);
  for (const inst of insts) lines.push(line(inst, 'failed', { error_code: env.code, error: why }));
}
