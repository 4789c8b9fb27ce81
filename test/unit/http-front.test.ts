import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import type { HttpRequest, HttpResponse } from '../../src/http/client.js';
import { cmdbAddressHint, isCmdbEnvelope } from '../../src/http/cmdb.js';
import { BodyTooLargeError, FrontDoorError, frontVerdict, pageTitle, type FrontContext } from '../../src/http/front.js';

const SECRET = 'front-secret-42';
const BASE = 'https://paas.example.com';
const req: HttpRequest = { op: 'batch_create_inst', method: 'POST', path: '/api/c/compapi/v2/cc/batch_create_inst/' };
const ctx: FrontContext = {
  service: 'CMDB',
  address: 'CMDB_URL (--url) and CMDB_GATEWAY (--gateway esb|apigw)',
  credentials: 'BK_APP_CODE / BK_APP_SECRET',
  isEnvelope: isCmdbEnvelope,
  addressHint: (base) => cmdbAddressHint('esb', base),
  secrets: () => [SECRET],
};

function res(status: number, text: string, headers: Record<string, string> = {}, sentBytes = 100): HttpResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, url: `${BASE}${req.path}`, sentBytes, headers, body, text };
}

describe('frontVerdict', () => {
  it.each([
    [200, '{"result":true,"code":0,"data":null}', {}],
    [400, '{"result":false,"bk_error_code":1199006,"bk_error_msg":"bad"}', {}],
    [500, '<html>boom</html>', { 'content-type': 'text/html' }],
    [502, 'Bad Gateway', {}],
    [401, '<html><title>Login</title></html>', { 'content-type': 'text/html' }],
    [429, 'Too Many Requests', {}],
  ])('HTTP %s %s: left to the service', (status, text, headers) => {
    expect(frontVerdict(res(status, text, headers), req, ctx)).toBeUndefined();
  });

  it.each([
    [503, { 'retry-after': '5' }, 5000],
    [429, { 'retry-after': '0' }, 0],
  ])('HTTP %s with Retry-After: rate-limited for everyone', (status, headers, waitMs) => {
    expect(frontVerdict(res(status, '<html>later</html>', headers), req, ctx)).toMatchObject({ kind: 'rate-limited', waitMs });
  });

  it('a JSON answer cut short is unclear (transient), not a front door', () => {
    expect(frontVerdict(res(200, '{"result":true,"data":{"succ', { 'content-type': 'application/json' }), req, ctx)).toMatchObject({ kind: 'transient' });
  });

  const fatal = (r: HttpResponse) => {
    const v = frontVerdict(r, req, ctx);
    if (v?.kind !== 'fatal') throw new Error(`not fatal: ${JSON.stringify(v)}`);
    expect(v.error.exitCode).toBe(EXIT.AUTH);
    return v.error;
  };

  it.each([
    [200, '<!doctype html><html><head><title>\n  Sign in &amp; go | BlueKing </title></head></html>', 'text/html; charset=utf-8', 'a web page titled "Sign in & go | BlueKing"', /login page/],
    [200, '<html><body>no title</body></html>', 'text/html', 'a web page without a title', /check CMDB_URL/],
    [404, '<html><head><title>404 Not Found</title></head></html>', 'text/html', 'a web page titled "404 Not Found"', /check CMDB_URL/],
    [200, '{"status":"UP","service":"grafana"}', 'application/json', 'JSON that is not a CMDB answer (keys: status, service)', /check CMDB_URL/],
    [200, '', '', 'an empty answer', /check CMDB_URL/],
    [400, 'The plain HTTP request was sent to HTTPS port', 'text/plain', 'text "The plain HTTP request was sent to HTTPS port"', /check CMDB_URL/],
  ])('HTTP %s %j: FrontDoorError saying what came back', (status, text, type, said, hint) => {
    const e = fatal(res(status, text, type ? { 'content-type': type } : {}));
    expect(e).toBeInstanceOf(FrontDoorError);
    expect(e.message).toContain(said);
    expect(e.message).toContain(`HTTP ${status}`);
    expect(e.message).toMatch(/nothing was applied/);
    expect(e.hint).toMatch(hint);
  });

  it('a page title holding a secret is masked', () => {
    const e = fatal(res(200, `<title>token ${SECRET}</title>`, { 'content-type': 'text/html' }));
    expect(e.message).not.toContain(SECRET);
  });

  it.each([
    ['http://paas.example.com/login/?c_url=/x', /login page/],
    ['https://paas.example.com/api/c/compapi/v2/cc/batch_create_inst/?next=1', /must lead to the API itself/],
    ['/somewhere/else', /must lead to the API itself/],
    [undefined, /must lead to the API itself/],
  ])('a redirect to %s is not followed; the Location is named', (location, hint) => {
    const e = fatal(res(302, '', location ? { location } : {}));
    expect(e).toBeInstanceOf(FrontDoorError);
    expect(e.message).toContain(`redirected (HTTP 302) to ${location ?? '(no Location given)'}`);
    expect(e.hint).toMatch(hint);
  });

  it('http → https redirect says to use https://', () => {
    const r = { ...res(301, '', { location: `https://paas.example.com${req.path}` }), url: `http://paas.example.com${req.path}` };
    expect(fatal(r).hint).toMatch(/the server wants HTTPS/);
  });

  it('413: BodyTooLargeError with the size of the body refused', () => {
    const e = fatal(res(413, '<html><title>413 Request Entity Too Large</title></html>', { 'content-type': 'text/html' }, 1_300_000));
    expect(e).toBeInstanceOf(BodyTooLargeError);
    expect((e as BodyTooLargeError).bytes).toBe(1_300_000);
    expect(e.message).toMatch(/1\.2 MB as too large \(HTTP 413\); nothing in it was applied/);
    expect(e.hint).toMatch(/--batch-size/);
  });
});

describe('cmdbAddressHint', () => {
  it.each([
    ['esb', 'https://bkapi.example.com/api/bk-cmdb/prod', /use --gateway apigw/],
    ['esb', 'http://paas.example.com/api/c/compapi/v2/cc', /already holds the ESB path/],
    ['apigw', 'https://bkapi.example.com/api/bk-cmdb/prod/api/v3', /already holds the API path/],
    ['apigw', 'https://bkapi.example.com/api/bk-cmdb', /needs its stage/],
    ['apigw', 'http://paas.example.com', /part before \/api\/v3\//],
    ['esb', 'http://paas.example.com/o/bk_cmdb', /PaaS address/],
    ['esb', 'http://paas.example.com', undefined],
    ['apigw', 'https://bkapi.example.com/api/bk-cmdb/prod', undefined],
  ] as const)('%s %s', (gateway, base, hint) => {
    const h = cmdbAddressHint(gateway, base);
    if (hint === undefined) expect(h).toBeUndefined();
    else expect(h).toMatch(hint);
  });
});

describe('pageTitle', () => {
  it.each([
    ['<title>a</title>', 'a'],
    ['<TITLE lang="zh">蓝鲸 &#x767B;&#24405;</TITLE>', '蓝鲸 登录'],
    ['<title>   </title>', undefined],
    ['no page', undefined],
    [`<title>${'x'.repeat(150)}</title>`, `${'x'.repeat(100)}…`],
  ])('%j → %j', (html, title) => expect(pageTitle(html)).toBe(title));
});
