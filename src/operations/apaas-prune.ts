/**
 * apaas-sync --prune: delete the aPaaS object's records that the file does not name, under the guards of sync's
 * prune (src/operations/sync-prune.ts: every row named, --max-delete, --yes). The records are listed with records
 * batch_query page by page (src/export/apaas-pages.ts, as apaas-export reads them) and deleted with records
 * batch_delete, 500 ids a request — the requests apaas-delete sends. The open platform has no call that lists an
 * object's fields, so a record's `before` holds the key and the fields the file has, not every field.
 *
 * An item the server refuses is looked up again by `_id`: a record gone (someone deleted it, or a request re-sent
 * after an unclear answer already did) counts as deleted; a record still there is `failed` with the server's error.
 */
import { CliError, EXIT } from '../core/errors.js';
import { recordPages } from '../export/apaas-pages.js';
import type { FeishuApi } from '../http/feishu.js';
import { keyOf, RecordFinder } from './feishu/lookup.js';
import { readItems } from './feishu/records.js';
import { pruneFrom, type PruneGuards, type PruneLine, type PruneResult } from './sync-prune.js';

const DELETE_BATCH = 500;

export interface ApaasPruneInput extends PruneGuards {
  api: FeishuApi;
  ns: string;
  obj: string;
}

export function apaasPrune(p: ApaasPruneInput): Promise<PruneResult> {
  return pruneFrom(p, {
    noun: `${p.obj} record`,
    batch: DELETE_BATCH,
    all: (fileFields) => listed(p, [p.key, ...fileFields.filter((f) => f !== p.key && f !== '_id')]),
    idOf: (x) => x._id,
    remove: (xs, lines) => remove(p, xs, lines),
  });
}

/** Every record of the object, `_id`, the key and the file's fields; a listing the server refuses stops the prune. */
async function* listed(p: ApaasPruneInput, fields: string[]): AsyncGenerator<Record<string, unknown>[]> {
  try {
    yield* recordPages(p.api, { namespace: p.ns, object: p.obj, fields, pageSize: 500, signal: p.signal }).pages;
  } catch (e) {
    if (!(e instanceof CliError) || e.exitCode === EXIT.INTERRUPTED) throw e;
    throw new CliError(`--prune could not list the records of ${p.ns}/${p.obj}: ${e.message}`, EXIT.UNREACHABLE, 'the rows of the file were applied (see the report); nothing was pruned. Run the same command again to prune: rows already as the file says are not sent again');
  }
}

async function remove(p: ApaasPruneInput, recs: Record<string, unknown>[], lines: PruneLine[]): Promise<void> {
  const ids = recs.map((r) => String(r._id));
  // Sending the ids again after an unclear answer is safe: a record already gone is checked below, never "failed".
  const env = await p.api.records('batch_delete', p.ns, p.obj, { ids }, { idempotent: true, signal: p.signal });
  const results = env.ok ? readItems(env.data.items, ids.length, ids) : ids.map(() => ({ ok: false as const, code: env.code, error: `${env.msg || 'request refused'} (code ${env.code})` }));
  const refused = ids.filter((_, i) => !results[i]!.ok);
  const still = refused.length ? await new RecordFinder(p.api, p.ns, p.obj, '_id', false).lookup(refused, p.signal) : new Map<string, string[]>();
  recs.forEach((rec, i) => {
    const r = results[i]!;
    const kept = !r.ok && (still.get(keyOf(ids[i])!) ?? []).length > 0;
    lines.push({ status: kept ? 'failed' : 'ok', action: 'delete', id: rec._id, ...(!r.ok && kept ? { error_code: r.code ?? 'failed', error: r.error } : {}), before: rec });
  });
}
