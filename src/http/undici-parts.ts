/**
 * The three parts of undici the transport uses, loaded on their own at the first request: a run that talks to a
 * server pays for them, not for the whole package (docs/performance.md, issue 16 "start-up of a run with the model").
 *
 * - `undici`'s index loads every part of the package (fetch, cookies, WebSocket, EventSource, the mock agents, the
 *   cache stores): 110–130 ms of a run's start on this machine, where Pool, EnvHttpProxyAgent and the request API
 *   take 45 ms. The parts are required by their paths in the package (undici 7 declares no `exports` map, so they are
 *   public files; the pinned ~7.30 range keeps them where they are, and test/unit/http-client.test.ts loads them).
 * - The request API is called with the dispatcher as `this` — what the index does when it copies the API onto
 *   Dispatcher.prototype — so any Dispatcher works, a MockAgent of the unit tests included.
 * - undici parses HTTP/1.1 with llhttp compiled to WebAssembly. V8 compiles it with its baseline compiler, then
 *   recompiles the hot functions with its optimising one in the background: on this machine 0.15 CPU-s and a
 *   35 MB higher peak RSS for every run that sends a request, for answers the tool reads a few hundred a second at
 *   most. `--liftoff-only` keeps the baseline code (V8 reads the flag when it compiles a module, so setting it here,
 *   before llhttp is compiled, is enough; it touches WebAssembly only, and nothing else in the tool uses it).
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type { Dispatcher, EnvHttpProxyAgent, Pool } from 'undici';

export interface UndiciParts {
  Pool: typeof Pool;
  EnvHttpProxyAgent: typeof EnvHttpProxyAgent;
  /** undici's `request()` for a given dispatcher. */
  request(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
}

let loaded: UndiciParts | undefined;

export function undiciParts(): UndiciParts {
  if (loaded) return loaded;
  setFlagsFromString('--liftoff-only');
  const require = createRequire(import.meta.url);
  const request = require('undici/lib/api/api-request.js') as (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  loaded = {
    Pool: require('undici/lib/dispatcher/pool.js') as typeof Pool,
    get EnvHttpProxyAgent() {
      return require('undici/lib/dispatcher/env-http-proxy-agent.js') as typeof EnvHttpProxyAgent;
    },
    request: (dispatcher, options) => request.call(dispatcher, options),
  };
  return loaded;
}
