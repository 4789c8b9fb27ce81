/** Raw-HTTP helpers for the simulator tests (undici, loopback only). */
import { request } from 'undici';
import type { Simulator } from '../../src/sim/index.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export async function call(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await request(url, {
    method: method as 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export interface CmdbOpts { user?: string; lang?: 'en' | 'zh'; secret?: string; appCode?: string; noUser?: boolean }

/** POST an ESB operation with credentials in the body. */
export function esb(sim: Simulator, op: string, body: Record<string, unknown>, o: CmdbOpts = {}): Promise<Reply> {
  const creds: Record<string, unknown> = {
    bk_app_code: o.appCode ?? sim.credentials.bkAppCode,
    bk_app_secret: o.secret ?? sim.credentials.bkAppSecret,
  };
  if (!o.noUser) creds.bk_username = o.user ?? 'admin';
  return call(`${sim.urls.esb}/api/c/compapi/v2/cc/${op}/`, 'POST', { ...creds, ...body }, o.lang === 'en' ? { 'blueking-language': 'en' } : {});
}

/** Call an apigw path (under /api/v3) with the X-Bkapi-Authorization header. */
export function apigw(sim: Simulator, method: string, path: string, body: unknown, o: CmdbOpts = {}): Promise<Reply> {
  const auth: Record<string, unknown> = {
    bk_app_code: o.appCode ?? sim.credentials.bkAppCode,
    bk_app_secret: o.secret ?? sim.credentials.bkAppSecret,
  };
  if (!o.noUser) auth.bk_username = o.user ?? 'admin';
  const headers: Record<string, string> = { 'x-bkapi-authorization': JSON.stringify(auth) };
  if (o.lang === 'en') headers['x-bkcmdb-language'] = 'en';
  return call(`${sim.urls.apigw}${path}`, method, body, headers);
}

export async function feishuToken(sim: Simulator): Promise<string> {
  const r = await call(`${sim.urls.feishu}/open-apis/auth/v3/tenant_access_token/internal`, 'POST', {
    app_id: sim.credentials.feishuAppId,
    app_secret: sim.credentials.feishuAppSecret,
  });
  if (r.json?.code !== 0) throw new Error(`token: ${r.text}`);
  return r.json.tenant_access_token as string;
}

export function records(
  sim: Simulator, token: string | null, action: 'batch_update' | 'batch_create' | 'batch_delete' | 'batch_query',
  body: unknown, ns = 'package_demo__c', obj = 'device',
): Promise<Reply> {
  const method = { batch_update: 'PATCH', batch_create: 'POST', batch_delete: 'DELETE', batch_query: 'POST' }[action];
  return call(
    `${sim.urls.feishu}/open-apis/apaas/v1/applications/${ns}/objects/${obj}/records/${action}`, method, body,
    token ? { authorization: `Bearer ${token}` } : {},
  );
}

/** A manual clock for rate windows and token lifetimes. */
export function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}
