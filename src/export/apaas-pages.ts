/**
 * Every record of a Feishu aPaaS object through records batch_query, paged by the server's page token
 * (larksuite/node-sdk `code-gen/projects/apaas.ts`, applicationObjectRecord.batchQuery: `select` is required,
 * `page_size` ≤ 500, `page_token` is honoured only with `use_page_token: true` and is "" for the first page,
 * `next_page_token` and `has_more` come back, `items` is a JSON string, `total` only with `need_total_count`).
 * Offsets are not used: the platform advises against them for reading everything. A page that says there is
 * more but hands back no new token would repeat itself forever: the export stops instead.
 */
import { CliError, EXIT, UsageError } from '../core/errors.js';
import type { FeishuApi } from '../http/feishu.js';
import type { Pages } from './cmdb-pages.js';
import type { Row } from './sink.js';

function itemsOf(v: unknown): Row[] {
  if (Array.isArray(v)) return v as Row[];
  if (typeof v !== 'string' || v === '') return [];
  const parsed: unknown = JSON.parse(v);
  return Array.isArray(parsed) ? (parsed as Row[]) : [];
}

export function recordPages(api: FeishuApi, o: { namespace: string; object: string; fields: string[]; pageSize: number; signal?: AbortSignal }): Pages {
  const out: Pages = { pages: pages() };
  async function* pages(): AsyncGenerator<Row[]> {
    let token = '';
    for (;;) {
      const body = { select: ['_id', ...o.fields.filter((f) => f !== '_id')], page_size: o.pageSize, use_page_token: true, page_token: token, need_total_count: token === '' };
      const env = await api.records('batch_query', o.namespace, o.object, body, { idempotent: true, signal: o.signal });
      if (env.code !== 0) throw new UsageError(`Feishu refused to list ${o.namespace}/${o.object} (batch_query): ${env.msg} (code ${env.code})`, 'check --namespace, --object and --fields; nothing was written');
      const data = (env.data ?? {}) as { items?: unknown; has_more?: unknown; next_page_token?: unknown; total?: unknown };
      if (token === '' && Number.isFinite(Number(data.total)) && data.total !== undefined) out.total = Number(data.total);
      const rows = itemsOf(data.items);
      if (rows.length > 0) yield rows;
      if (data.has_more !== true) return;
      const next = typeof data.next_page_token === 'string' ? data.next_page_token : '';
      if (next === '' || next === token) {
        throw new CliError(`batch_query said there are more records but gave ${next === '' ? 'no page token' : 'the same page token again'}: the export stopped rather than repeat a page`, EXIT.UNREACHABLE);
      }
      token = next;
    }
  }
  return out;
}
