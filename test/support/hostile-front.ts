/**
 * A hostile front door for end-to-end tests: a small loopback proxy in front of the simulator that behaves like
 * the nginx, login services and wrong addresses real users meet. `set()` switches the behaviour; every request is
 * recorded (`seen`) with whether it was passed on to the simulator, so a test can count retries and look-ups.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type FrontBehaviour =
  /** Forward everything to the simulator. */
  | { kind: 'pass' }
  /** Answer every request with an HTML page (a login page: HTTP 200 text/html). */
  | { kind: 'html'; title: string; status?: number }
  /** Answer with a redirect (302 to a login page). */
  | { kind: 'redirect'; location: string; status?: number }
  /** nginx's client_max_body_size: a request body over `maxBytes` gets 413 Request Entity Too Large. */
  | { kind: 'body-limit'; maxBytes: number }
  /** Another service: this JSON with this status, for everything. */
  | { kind: 'json'; status: number; body: unknown }
  /** The first `times` requests get 503 with Retry-After: `seconds`; later ones pass. */
  | { kind: 'retry-after'; times: number; seconds: number }
  /** CMDB's own API limiter: the first `times` requests get HTTP 200 with bk_error_code 1199997; later ones pass. */
  | { kind: 'cmdb-limiter'; times: number }
  /** The first `times` answers are passed on with their `data` replaced by `data` (the request itself is applied). */
  | { kind: 'reshape'; times: number; data: unknown };

export interface SeenRequest {
  method: string;
  path: string;
  /** Bytes of the request body. */
  bytes: number;
  /** Passed on to the simulator (true), or answered by the front itself (false). */
  forwarded: boolean;
}

export interface HostileFront {
  /** http://127.0.0.1:<port>, to use in place of the simulator's origin. */
  origin: string;
  seen: SeenRequest[];
  /** Switches the behaviour and clears `seen`. `only`: it applies to paths matching this; others pass. */
  set(behaviour: FrontBehaviour, only?: RegExp): void;
  close(): Promise<void>;
}

const NGINX_413 = '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const NGINX_503 = '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export async function startHostileFront(target: { port: number }): Promise<HostileFront> {
  let behaviour: FrontBehaviour = { kind: 'pass' };
  let only: RegExp | undefined;
  let answered = 0; // requests the front answered itself under the current behaviour
  const seen: SeenRequest[] = [];

  /** Passes the request on; `reshape` rewrites the `data` of the JSON answer. */
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse, reshape?: { data: unknown }) => {
    const up = request({ host: '127.0.0.1', port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      if (!reshape) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const text = JSON.stringify({ ...JSON.parse(Buffer.concat(chunks).toString('utf8')), data: reshape.data });
        res.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.end(text);
      });
    });
    up.on('error', () => res.destroy());
    up.end(body);
  };

  /** The front's own answer, or undefined to pass the request on. */
  const ownAnswer = (b: FrontBehaviour, bytes: number): { status: number; headers: Record<string, string>; body: string } | undefined => {
    const html = (status: number, page: string, extra: Record<string, string> = {}) => ({ status, headers: { 'content-type': 'text/html; charset=utf-8', ...extra }, body: page });
    switch (b.kind) {
      case 'pass':
        return undefined;
      case 'html':
        return html(b.status ?? 200, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${b.title}</title></head><body><form action="/login/">user <input name="username"></form></body></html>`);
      case 'redirect':
        return html(b.status ?? 302, '', { location: b.location });
      case 'body-limit':
        return bytes > b.maxBytes ? html(413, NGINX_413) : undefined;
      case 'json':
        return { status: b.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(b.body) };
      case 'retry-after':
        return answered < b.times ? html(503, NGINX_503, { 'retry-after': String(b.seconds) }) : undefined;
      case 'reshape':
        return undefined;
      case 'cmdb-limiter':
        return answered < b.times
          ? { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ result: false, bk_error_code: 1199997, bk_error_msg: 'the request was limited by the API limiter', permission: null, data: null }) }
          : undefined;
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const applies = !only || only.test(path);
      const mine = applies ? ownAnswer(behaviour, body.length) : undefined;
      seen.push({ method: req.method ?? 'GET', path, bytes: body.length, forwarded: !mine });
      if (!mine) {
        const reshape = applies && behaviour.kind === 'reshape' && answered < behaviour.times ? behaviour : undefined;
        if (reshape) answered++;
        return forward(req, body, res, reshape);
      }
      answered++;
      res.writeHead(mine.status, { ...mine.headers, 'content-length': String(Buffer.byteLength(mine.body)) });
      res.end(mine.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    set(b, o) {
      behaviour = b;
      only = o;
      answered = 0;
      seen.length = 0;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
