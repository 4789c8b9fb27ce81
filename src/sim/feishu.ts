/**
 * Feishu aPaaS: tenant access tokens and object records (api-notes.md §3).
 */
import { randomBytes } from 'node:crypto';
import { parseQuery, runQuery } from './feishu-query.js';
import type { Row, SimStore } from './store.js';

export interface FeishuReply {
  status: number;
  body: unknown;
  /** Records changed, for the counters. */
  applied?: number;
}

const reply = (status: number, body: unknown, applied?: number): FeishuReply => ({ status, body, applied });
const paramInvalid = (why: string) => reply(400, { code: 2320001, msg: `param is invalid: ${why}` });
const isObj = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Issues and checks tenant access tokens for the one app the simulator knows. */
export class FeishuTokens {
  private tokens = new Map<string, { appId: string; expiresAt: number }>();
  private current = new Map<string, string>();

  constructor(
    private readonly app: { appId: string; appSecret: string },
    private readonly ttlSec: number,
    private readonly clock: () => number,
  ) {}

  /**
   * POST /open-apis/auth/v3/tenant_access_token/internal. The same token comes
   * back until less than 30 minutes (or, for short lifetimes, half the lifetime)
   * is left; then a new one is issued and the old one stays valid until it expires.
   */
  issue(body: unknown): { reply: FeishuReply; issued: boolean } {
    const b = isObj(body) ? body : {};
    if (typeof b.app_id !== 'string' || b.app_id !== this.app.appId) {
      return { reply: reply(200, { code: 10003, msg: 'invalid param: app_id is invalid' }), issued: false };
    }
    if (typeof b.app_secret !== 'string' || b.app_secret !== this.app.appSecret) {
      return { reply: reply(200, { code: 10014, msg: 'app secret invalid' }), issued: false };
    }
    const now = this.clock();
    const renewWithinMs = Math.min(1800, this.ttlSec / 2) * 1000;
    let token = this.current.get(b.app_id);
    const known = token ? this.tokens.get(token) : undefined;
    if (!token || !known || known.expiresAt - now < renewWithinMs) {
      token = `t-${randomBytes(20).toString('hex')}`;
      this.tokens.set(token, { appId: b.app_id, expiresAt: now + this.ttlSec * 1000 });
      this.current.set(b.app_id, token);
    }
    const left = this.tokens.get(token)!.expiresAt - now;
    return { reply: reply(200, { code: 0, msg: 'ok', tenant_access_token: token, expire: Math.floor(left / 1000) }), issued: true };
  }

  /** Checks `Authorization: Bearer <token>`; returns the app id, or the error reply. */
  verify(header: string | undefined): { appId: string } | { reply: FeishuReply } {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) {
      return { reply: reply(400, { code: 99991661, msg: 'Missing access token for authorization. Please make a request with token attached.' }) };
    }
    const t = this.tokens.get(m[1]!);
    if (!t || t.expiresAt <= this.clock()) {
      return { reply: reply(401, { code: 99991663, msg: 'Invalid access token for authorization. Please make a request with token attached.' }) };
    }
    return { appId: t.appId };
  }

  /** App id a request claims through its token (for the rate windows), even if the token expired. */
  appOf(header: string | undefined): string {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    return (m && this.tokens.get(m[1]!)?.appId) || 'anonymous';
  }
}

/** The value that makes a record item fail on its own (to test per-item failures). */
export const REJECT_VALUE = '__reject__';

function parseRecords(body: Row): Row[] | FeishuReply {
  if (typeof body.records !== 'string') return paramInvalid('records must be a JSON string of a list');
  let list: unknown;
  try {
    list = JSON.parse(body.records);
  } catch {
    return paramInvalid('records is not valid JSON');
  }
  if (!Array.isArray(list) || !list.every(isObj)) return paramInvalid('records must be a list of maps');
  if (list.length === 0) return paramInvalid('records is empty');
  if (list.length > 500) return paramInvalid('more than 500 records');
  return list;
}

const itemOk = (id: string) => ({ success: true, id, errors: [] as unknown[] });
const itemErr = (id: string, code: string, message: string, fields: string[]) => ({
  success: false, id, errors: [{ code, message, sub_code: '', fields }],
});
const rejectedField = (r: Row) => Object.keys(r).find((k) => r[k] === REJECT_VALUE);
const ok = (data: unknown, applied?: number) => reply(200, { code: 0, msg: 'success', data }, applied);

export function batchUpdate(store: SimStore, ns: string, obj: string, body: Row): FeishuReply {
  const list = parseRecords(body);
  if (!Array.isArray(list)) return list;
  const table = store.table(ns, obj);
  let applied = 0;
  const items = list.map((r) => {
    const id = typeof r._id === 'string' || typeof r._id === 'number' ? String(r._id) : '';
    if (!id || !table.has(id)) return itemErr(id, 'k_ec_000015', 'record not found', ['_id']);
    const bad = rejectedField(r);
    if (bad) return itemErr(id, 'k_ec_000004', `field value invalid: ${bad}`, [bad]);
    const { _id, ...fields } = r;
    table.set(id, { ...table.get(id)!, ...fields });
    applied++;
    return itemOk(id);
  });
  return ok({ items }, applied);
}

export function batchCreate(store: SimStore, ns: string, obj: string, body: Row): FeishuReply {
  const list = parseRecords(body);
  if (!Array.isArray(list)) return list;
  const table = store.table(ns, obj);
  let applied = 0;
  const items = list.map((r) => {
    const bad = rejectedField(r);
    if (bad) return itemErr('', 'k_ec_000004', `field value invalid: ${bad}`, [bad]);
    const { _id, ...fields } = r;
    const id = String(store.nextFeishuId++);
    table.set(id, { _id: id, ...fields });
    applied++;
    return itemOk(id);
  });
  return ok({ items }, applied);
}

export function batchDelete(store: SimStore, ns: string, obj: string, body: Row): FeishuReply {
  if (!Array.isArray(body.ids)) return paramInvalid('ids must be an array');
  if (body.ids.length === 0 || body.ids.length > 500) return paramInvalid('ids must hold 1 to 500 ids');
  const table = store.table(ns, obj);
  let applied = 0;
  const items = (body.ids as unknown[]).map((raw) => {
    const id = String(raw);
    if (!table.delete(id)) return itemErr(id, 'k_ec_000015', 'record not found', ['_id']);
    applied++;
    return itemOk(id);
  });
  return ok({ items }, applied);
}

export function batchQuery(store: SimStore, ns: string, obj: string, body: Row): FeishuReply {
  const q = parseQuery(body);
  if (typeof q === 'string') return paramInvalid(q);
  const r = runQuery([...store.table(ns, obj).values()], q);
  return ok({
    items: JSON.stringify(r.items),
    has_more: r.hasMore,
    ...(r.next !== undefined ? { next_page_token: r.next } : {}),
    ...(r.total !== undefined ? { total: r.total } : {}),
  });
}

export const FEISHU_OPS: Record<string, { method: string; op: string; run: typeof batchUpdate }> = {
  batch_update: { method: 'PATCH', op: 'feishu_batch_update', run: batchUpdate },
  batch_create: { method: 'POST', op: 'feishu_batch_create', run: batchCreate },
  batch_delete: { method: 'DELETE', op: 'feishu_batch_delete', run: batchDelete },
  batch_query: { method: 'POST', op: 'feishu_batch_query', run: batchQuery },
};

export const FEISHU_WRITE_OPS = new Set(['feishu_batch_update', 'feishu_batch_create', 'feishu_batch_delete']);
