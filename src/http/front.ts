/**
 * What answered when it was not the API. Real deployments put nginx, a login service or another proxy in front
 * of CMDB; a wrong URL reaches the web UI or another service. Such answers are recognised here, before a
 * service reads codes, and they stop the run at once (no retry, no look-up: nothing was applied):
 * - a page or any answer that is not the service's JSON envelope (a login page, an nginx 404, another API);
 * - a redirect (never followed: a write must not land on whatever the Location names);
 * - 413, the front door's body limit (nginx client_max_body_size): not applied, the body was too big;
 * - 429 / 503 with Retry-After: "come back later", a rate limit for everyone (not applied).
 * 5xx pages stay the service's business: a gateway error may hide a finished write.
 */
import { CliError, EXIT } from '../core/errors.js';
import { maskSecrets, type HttpRequest, type HttpResponse } from './client.js';
import { retryAfterMs } from './retry.js';
import type { Verdict } from './sender.js';

/** The answer came from something that is not the API (a page, a redirect, another service): nothing was applied. */
export class FrontDoorError extends CliError {
  readonly status: number;
  constructor(message: string, hint: string, status: number) {
    super(message, EXIT.AUTH, hint);
    this.status = status;
  }
}

/**
 * HTTP 413: the front door refused the request body as too big (nginx: client_max_body_size, 1 MB by default).
 * The request was not applied. `bytes` is the size of the body refused: a batch of fewer rows may pass, a
 * single row that big never will.
 */
export class BodyTooLargeError extends CliError {
  readonly status = 413;
  readonly bytes: number;
  constructor(message: string, hint: string, bytes: number) {
    super(message, EXIT.AUTH, hint);
    this.bytes = bytes;
  }
}

export interface FrontContext {
  /** 'CMDB' | 'Feishu' */
  service: string;
  /** Settings that choose the address, e.g. 'CMDB_URL (--url) and CMDB_GATEWAY (--gateway esb|apigw)'. */
  address: string;
  /** Settings that hold the credentials. */
  credentials: string;
  /** Is this parsed body the service's own answer envelope (whatever its code)? */
  isEnvelope(body: unknown): boolean;
  /** A hint from the URL's shape: would the other front door's path fit it? */
  addressHint?(baseUrl: string): string | undefined;
  secrets(): string[];
}

/**
 * The verdict on an answer that did not come from the API, or undefined when it did (the service then reads its
 * codes). 5xx answers and 401 / 403 / 429 without Retry-After are left to the service.
 */
export function frontVerdict(res: HttpResponse, req: HttpRequest, ctx: FrontContext): Verdict | undefined {
  const mask = (s: string) => maskSecrets(s, ctx.secrets());
  const base = baseUrlOf(res, req);
  const asked = `${req.method} ${mask(res.url)}`;
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.location ? mask(res.headers.location) : undefined;
    return fatal(
      new FrontDoorError(
        `${ctx.service} did not answer ${req.op}: ${asked} was redirected (HTTP ${res.status}) to ${location ?? '(no Location given)'}; redirects are not followed, so nothing was sent on`,
        redirectHint(res.url, location, ctx),
        res.status,
      ),
    );
  }
  if (res.status === 413) {
    return fatal(
      new BodyTooLargeError(
        `${ctx.service} ${req.op}: the front door refused a request body of ${formatBytes(res.sentBytes)} as too large (HTTP 413); nothing in it was applied`,
        'send fewer rows a request (--batch-size); the limit is the front door\'s (nginx: client_max_body_size)',
        res.sentBytes,
      ),
    );
  }
  const retryAfter = retryAfterMs(res.headers['retry-after']);
  if ((res.status === 503 || res.status === 429) && retryAfter !== undefined) {
    return { kind: 'rate-limited', waitMs: retryAfter, reason: `HTTP ${res.status} with Retry-After ${res.headers['retry-after']}` };
  }
  if (res.status >= 500 || ctx.isEnvelope(res.body)) return undefined;
  if ([401, 403, 429].includes(res.status)) return undefined;
  // JSON that would not parse: the answer was cut or garbled on the way. For a write that is an unclear answer.
  if (res.body === undefined && /^\s*[[{]/.test(res.text) && res.status < 300) {
    return { kind: 'transient', reason: `HTTP ${res.status} with an answer that is not valid JSON (${res.text.length} characters)` };
  }
  const hint = [
    isHtml(res) && /login|sign in|登录/i.test(pageTitle(res.text) ?? res.text.slice(0, 2000))
      ? `a login page means the address leads to a web front end or the front door did not accept the credentials: check ${ctx.address} (the API's address, not the web UI's) and ${ctx.credentials}`
      : `check ${ctx.address}`,
    ctx.addressHint?.(base),
  ].filter(Boolean);
  return fatal(
    new FrontDoorError(
      `${ctx.service} did not answer ${req.op}: ${asked} got HTTP ${res.status}${contentType(res)} with ${mask(describeBody(res, ctx.service))}; nothing was applied`,
      hint.join('; '),
      res.status,
    ),
  );
}

/** The base URL the request was sent to: the URL asked, without the request's own path. */
export function baseUrlOf(res: HttpResponse, req: HttpRequest): string {
  return res.url.endsWith(req.path) ? res.url.slice(0, res.url.length - req.path.length) : res.url;
}

function fatal(error: CliError): Verdict {
  return { kind: 'fatal', error };
}

function contentType(res: HttpResponse): string {
  const ct = res.headers['content-type']?.split(';')[0]?.trim();
  return ct ? ` (${ct})` : '';
}

function isHtml(res: HttpResponse): boolean {
  return /html/i.test(res.headers['content-type'] ?? '') || /^\s*<(!doctype|html|head|body)/i.test(res.text);
}

/** The <title> of an HTML page, tags and entities taken out, at most 100 characters. */
export function pageTitle(html: string): string | undefined {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  if (!m) return undefined;
  const t = decodeEntities(m[1]!).replace(/\s+/g, ' ').trim();
  return t ? clip(t, 100) : undefined;
}

function decodeEntities(s: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (all, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return named[e.toLowerCase()] ?? all;
  });
}

/** What the body was, in words: a page and its title, text, JSON that is not the service's, or nothing. */
function describeBody(res: HttpResponse, service: string): string {
  if (!res.text.trim()) return 'an empty answer';
  if (isHtml(res)) {
    const title = pageTitle(res.text);
    return title ? `a web page titled "${title}"` : 'a web page without a title';
  }
  if (res.body !== undefined) {
    const keys = typeof res.body === 'object' && res.body !== null && !Array.isArray(res.body) ? Object.keys(res.body).slice(0, 6) : [];
    return `JSON that is not a ${service} answer${keys.length ? ` (keys: ${keys.join(', ')})` : ''}`;
  }
  return `text "${clip(res.text.replace(/\s+/g, ' ').trim(), 80)}"`;
}

function redirectHint(url: string, location: string | undefined, ctx: FrontContext): string {
  if (location) {
    let to: URL | undefined;
    try {
      to = new URL(location, url);
    } catch {
      // not a URL: say only what the Location said
    }
    const from = new URL(url);
    if (to && to.protocol === 'https:' && from.protocol === 'http:' && to.host === from.host) {
      return `the server wants HTTPS: give the URL with https:// (${ctx.address})`;
    }
    if (to && /login|signin|sso|passport|auth/i.test(to.pathname + to.search)) {
      return `the front door sends the request to a login page: the address is the web UI's, or the credentials were not accepted; check ${ctx.address} and ${ctx.credentials}`;
    }
  }
  return `check ${ctx.address}: it must lead to the API itself, not to a page that forwards elsewhere`;
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}
