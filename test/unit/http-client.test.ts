import { createServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { MockAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../support/manual-clock.js';
import { createHttpClient, maskSecrets, TransportError } from '../../src/http/client.js';
import { CmdbApi, cmdbService } from '../../src/http/cmdb.js';
import { FeishuApi, feishuService, TenantTokenManager, TOKEN_PATH } from '../../src/http/feishu.js';
import { Throttle } from '../../src/http/limiter.js';
import { DEFAULT_RETRY_POLICY } from '../../src/http/retry.js';
import { Sender } from '../../src/http/sender.js';

const APP_SECRET = 'S3cr3t/Value+With"Quote';
const BK_TOKEN = 'bkt-0123456789abcdef';
const FEISHU_SECRET = 'fs-secret-7777';
const TENANT_TOKEN = 't-g1044abcdTENANTtoken';

// Loopback tests must not go through a proxy from the environment.
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NO_PROXY', 'no_proxy'];
const savedEnv: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const k of PROXY_VARS) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
});
afterAll(() => {
  for (const k of PROXY_VARS) if (savedEnv[k] === undefined) delete process.env[k];
  else process.env[k] = savedEnv[k];
});

const agents: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

function mockAgent(): MockAgent {
  const a = new MockAgent();
  a.disableNetConnect();
  agents.push(a);
  return a;
}

describe('maskSecrets', () => {
  it('masks exact values, also JSON-escaped and URL-encoded', () => {
    const text = `raw=${APP_SECRET} json=${JSON.stringify(APP_SECRET)} url=${encodeURIComponent(APP_SECRET)}`;
    const out = maskSecrets(text, [APP_SECRET]);
    expect(out).not.toContain('S3cr3t');
    expect(out).toBe('raw=*** json="***" url=***');
  });

  it('masks the values of secret keys in JSON, escaped JSON and query strings, and auth headers', () => {
    const cases: Array<[string, string]> = [
      ['{"bk_app_code":"app","bk_app_secret":"zzz","x":1}', '{"bk_app_code":"app","bk_app_secret":"***","x":1}'],
      ['{"bk_token": "tok\\"en"}', '{"bk_token": "***"}'],
      ['{"app_id":"cli_1","app_secret":"abc"}', '{"app_id":"cli_1","app_secret":"***"}'],
      ['{"code":0,"tenant_access_token":"t-xyz","expire":7200}', '{"code":0,"tenant_access_token":"***","expire":7200}'],
      ['"X-Bkapi-Authorization":"{\\"bk_app_code\\":\\"a\\",\\"bk_app_secret\\":\\"s\\"}"', '"X-Bkapi-Authorization":"***"'],
      ['{\\"bk_app_secret\\":\\"hidden\\"}', '{\\"bk_app_secret\\":\\"***\\"}'],
      ['GET /x?bk_token=abc&y=1', 'GET /x?bk_token=***&y=1'],
      ['Authorization: Bearer t-abc\nnext', 'Authorization: ***\nnext'],
      ['x-bkapi-authorization: {"bk_app_secret":"s"}', 'x-bkapi-authorization: ***'],
      ['sent with Bearer t-abc.def', 'sent with Bearer ***'],
    ];
    for (const [input, expected] of cases) expect(maskSecrets(input, [])).toBe(expected);
  });

  it('leaves other text alone and ignores empty secrets', () => {
    expect(maskSecrets('{"bk_app_code":"app","bk_username":"admin"}', ['', 'zzz'])).toBe('{"bk_app_code":"app","bk_username":"admin"}');
  });
});

describe('createHttpClient', () => {
  it('joins the base path, sends JSON, lower-cases headers and parses JSON answers', async () => {
    const agent = mockAgent();
    let seen: any;
    agent
      .get('https://bkapi.example.com')
      .intercept({ path: '/api/bk-cmdb/prod/api/v3/find/objectattr', method: 'POST' })
      .reply((o) => {
        seen = { headers: o.headers, body: String(o.body) };
        return { statusCode: 200, data: '{"result":true}', responseOptions: { headers: { 'Content-Type': 'application/json', 'X-Bkapi-Request-Id': 'r-1' } } };
      });
    const client = createHttpClient({ baseUrl: 'https://bkapi.example.com/api/bk-cmdb/prod/', dispatcher: agent, userAgent: 'cmdb-bulk/test' });
    const res = await client.send({ op: 'search_object_attribute', method: 'POST', path: '/api/v3/find/objectattr', body: { bk_obj_id: 'host' } });
    expect(res).toEqual({
      status: 200,
      url: 'https://bkapi.example.com/api/bk-cmdb/prod/api/v3/find/objectattr',
      sentBytes: 20,
      headers: expect.objectContaining({ 'content-type': 'application/json', 'x-bkapi-request-id': 'r-1' }),
      body: { result: true },
      text: '{"result":true}',
    });
    expect(seen.body).toBe('{"bk_obj_id":"host"}');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['user-agent']).toBe('cmdb-bulk/test');
  });

  it('leaves body undefined for a non-JSON answer', async () => {
    const agent = mockAgent();
    agent.get('http://x.test').intercept({ path: '/p', method: 'GET' }).reply(502, '<html>Bad Gateway</html>', { headers: { 'content-type': 'text/html' } });
    const res = await createHttpClient({ baseUrl: 'http://x.test', dispatcher: agent }).send({ op: 'o', method: 'GET', path: '/p' });
    expect(res.status).toBe(502);
    expect(res.body).toBeUndefined();
    expect(res.text).toContain('Bad Gateway');
  });

  describe('against real loopback servers', () => {
    let server: Server;
    let port: number;
    let mode: 'json' | 'destroy' | 'hang' = 'json';
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          if (mode === 'destroy') return req.socket.destroy();
          if (mode === 'hang') return; // never answers
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ method: req.method, url: req.url, body: JSON.parse(body || 'null') }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    it('talks to the server through its own keep-alive pool', async () => {
      mode = 'json';
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}/base` });
      try {
        for (let i = 0; i < 3; i++) {
          const res = await client.send({ op: 'o', method: 'PUT', path: '/x', body: { i } });
          expect(res.body).toEqual({ method: 'PUT', url: '/base/x', body: { i } });
        }
      } finally {
        await client.close();
      }
    });

    it('connection refused → TransportError sent=false', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const deadPort = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${deadPort}` });
      try {
        const err = await client.send({ op: 'o', method: 'POST', path: '/', body: {} }).catch((e) => e);
        expect(err).toBeInstanceOf(TransportError);
        expect(err.code).toBe('ECONNREFUSED');
        expect(err.sent).toBe(false);
      } finally {
        await client.close();
      }
    });

    it('connection dropped after the request was sent → TransportError sent=true', async () => {
      mode = 'destroy';
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}` });
      try {
        const err = await client.send({ op: 'o', method: 'POST', path: '/', body: { a: 1 } }).catch((e) => e);
        expect(err).toBeInstanceOf(TransportError);
        expect(err.sent).toBe(true);
        expect(err.timeout).toBe(false);
      } finally {
        await client.close();
      }
    });

    it('no answer within timeoutMs → TransportError timeout, sent=true', async () => {
      mode = 'hang';
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 50 });
      try {
        const err = await client.send({ op: 'o', method: 'POST', path: '/', body: {} }).catch((e) => e);
        expect(err).toBeInstanceOf(TransportError);
        expect(err.timeout).toBe(true);
        expect(err.sent).toBe(true);
      } finally {
        await client.close();
      }
    });

    it('an aborted signal ends a request on the wire with an AbortError', async () => {
      mode = 'hang';
      const client = createHttpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 60_000 });
      try {
        const ac = new AbortController();
        const p = client.send({ op: 'o', method: 'POST', path: '/', body: {} }, { signal: ac.signal }).catch((e) => e);
        setImmediate(() => ac.abort());
        const err = await p;
        expect(err.name).toBe('AbortError');
      } finally {
        await client.close();
      }
    });
  });
});

describe('proxy from the environment', () => {
  let target: Server;
  let proxy: Server;
  let targetPort: number;
  let proxyPort: number;
  const connects: string[] = [];
  beforeAll(async () => {
    target = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    // A minimal CONNECT proxy that records where it tunnels to.
    proxy = createServer();
    proxy.on('connect', (req, socket, head) => {
      connects.push(String(req.url));
      const [host, port] = String(req.url).split(':');
      const upstream = netConnect(Number(port), host!, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    targetPort = (target.address() as AddressInfo).port;
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of [target, proxy]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });
  afterEach(() => {
    delete process.env.HTTP_PROXY;
    delete process.env.NO_PROXY;
  });

  it('goes through HTTP_PROXY when it is set', async () => {
    process.env.HTTP_PROXY = `http://127.0.0.1:${proxyPort}`;
    connects.length = 0;
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${targetPort}` });
    try {
      const res = await client.send({ op: 'o', method: 'GET', path: '/' });
      expect(res.body).toEqual({ ok: true });
      expect(connects).toEqual([`127.0.0.1:${targetPort}`]);
    } finally {
      await client.close();
    }
  });

  it('honours NO_PROXY', async () => {
    process.env.HTTP_PROXY = `http://127.0.0.1:${proxyPort}`;
    process.env.NO_PROXY = '127.0.0.1';
    connects.length = 0;
    const client = createHttpClient({ baseUrl: `http://127.0.0.1:${targetPort}` });
    try {
      const res = await client.send({ op: 'o', method: 'GET', path: '/' });
      expect(res.body).toEqual({ ok: true });
      expect(connects).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('traces never contain secrets', () => {
  it('CMDB over ESB (credentials in the body) and apigw (credentials in a header)', async () => {
    for (const gateway of ['esb', 'apigw'] as const) {
      const agent = mockAgent();
      agent
        .get('https://cmdb.test')
        .intercept({ path: () => true, method: () => true })
        .reply((o) => ({ statusCode: 200, data: JSON.stringify({ result: false, code: 1306401, message: `echo ${String(o.body)} ${APP_SECRET}` }) }))
        .persist();
      const lines: string[] = [];
      const credentials = { appCode: 'app', appSecret: APP_SECRET, token: BK_TOKEN };
      const service = cmdbService({ gateway, credentials });
      const clock = new ManualClock(0, { auto: true });
      const client = createHttpClient({ baseUrl: 'https://cmdb.test', dispatcher: agent, trace: (l) => lines.push(l), secrets: service.secrets() });
      const api = new CmdbApi({ sender: new Sender({ client, service, throttle: new Throttle({ windowsFor: () => [], clock }), policy: DEFAULT_RETRY_POLICY, clock }), gateway });
      const err = await api.call('batch_create_inst', { bk_obj_id: 'bk_switch', details: [{ bk_inst_name: 'x' }] }, { idempotent: false }).catch((e) => e);
      expect(err.message).not.toContain(APP_SECRET);
      expect(lines.length).toBe(2);
      const all = lines.join('\n');
      expect(all).toContain('batch_create_inst');
      expect(all).not.toContain(APP_SECRET);
      expect(all).not.toContain(JSON.stringify(APP_SECRET).slice(1, -1));
      expect(all).not.toContain(BK_TOKEN);
    }
  });

  it('Feishu: the token request and answer, and the bearer header', async () => {
    const agent = mockAgent();
    const pool = agent.get('https://open.feishu.test');
    pool.intercept({ path: TOKEN_PATH, method: 'POST' }).reply(200, { code: 0, msg: 'ok', tenant_access_token: TENANT_TOKEN, expire: 7200 });
    pool
      .intercept({ path: () => true, method: 'PATCH' })
      .reply((o) => ({ statusCode: 200, data: JSON.stringify({ code: 0, msg: `seen ${(o.headers as Record<string, string>).authorization}`, data: { items: [] } }) }));
    const lines: string[] = [];
    const clock = new ManualClock(0, { auto: true });
    let tokens: TenantTokenManager | undefined;
    const client = createHttpClient({ baseUrl: 'https://open.feishu.test', dispatcher: agent, trace: (l) => lines.push(l), secrets: () => tokens?.secrets() ?? [FEISHU_SECRET] });
    const throttle = new Throttle({ windowsFor: () => [], clock });
    tokens = new TenantTokenManager({ client, credentials: { appId: 'cli_x', appSecret: FEISHU_SECRET }, clock, throttle, policy: DEFAULT_RETRY_POLICY });
    const api = new FeishuApi({ sender: new Sender({ client, service: feishuService({ tokens }), throttle, policy: DEFAULT_RETRY_POLICY, clock }) });
    await api.records('batch_update', 'ns', 'obj', { records: '[]' }, { idempotent: true });
    expect(lines.length).toBe(4);
    const all = lines.join('\n');
    expect(all).toContain(TOKEN_PATH);
    expect(all).not.toContain(FEISHU_SECRET);
    expect(all).not.toContain(TENANT_TOKEN);
  });
});
