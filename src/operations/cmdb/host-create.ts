/**
 * Creating hosts: batch_create_inst refuses built-in models (1199084), so hosts are created with
 * add_host_to_resource_pool (ESB) / POST /api/v3/hosts/add/resource (gateway) — bk-cmdb host_server
 * service/host.go AddHostToResourcePool → logics/import.go AddHostToResourcePool. Each host lands in the resource
 * pool's idle module (no `directory` sent). Not one transaction: each host is created on its own, in order, and
 * stays created when another fails. The answer lists `success` [{index, bk_host_id}] and `error`
 * [{index, error_message}]; when any host failed the envelope is result:false with 1110004 and the same lists.
 */
import type { CmdbApi, CmdbData } from '../../http/cmdb.js';
import type { RowResult, BatchVerdict } from '../types.js';
import { envelopeError, rowErrorCode } from './common.js';

/** Sends one batch of hosts (each row's fields as the host's) and reads each row's outcome. */
export async function addHosts(api: CmdbApi, hosts: Record<string, unknown>[], signal: AbortSignal): Promise<BatchVerdict> {
  const env = await api.call('add_host_to_resource_pool', { host_info: hosts }, { idempotent: false, signal });
  if (env.result) return { kind: 'rows', results: readHostsAdded(env.data, hosts.length) };
  // A refusal of the whole request (no lists: bad body, no default business, permission) sends nothing per row.
  if (!env.partial) return { kind: 'rejected', code: env.code, message: envelopeError(env), splittable: false };
  return { kind: 'rows', results: readHostsAdded(env.partial, hosts.length) };
}

/**
 * Every row's outcome by its index. An `error` entry with a host id was created (a step after the create failed):
 * it is ok, with the server's words in the detail. A row in neither list is a protocol error, never guessed.
 */
export function readHostsAdded(data: CmdbData<'add_host_to_resource_pool'>, n: number): RowResult[] {
  const ok = new Map(data.success.map((s) => [s.index, s]));
  const bad = new Map(data.error.map((e) => [e.index, e]));
  const out: RowResult[] = [];
  for (let i = 0; i < n; i++) {
    const s = ok.get(i);
    const e = bad.get(i);
    if (s?.bk_host_id && s.bk_host_id > 0) out.push({ ok: true, id: s.bk_host_id });
    else if (e?.bk_host_id && e.bk_host_id > 0) out.push({ ok: true, id: e.bk_host_id, detail: `created; the server also said: ${e.error_message ?? ''}` });
    else if (e) {
      const msg = e.error_message ?? 'the server did not say why';
      out.push({ ok: false, code: rowErrorCode(msg), error: msg });
    } else {
      out.push({ ok: false, code: 'protocol', error: `the server's answer does not mention this host (index ${i} in neither success nor error); its outcome is unknown: the next sync looks it up by its key` });
    }
  }
  return out;
}
