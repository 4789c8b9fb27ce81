/**
 * From settings to a ready connection: HTTP client, throttle, retry policy, authentication, API object.
 * `--sandbox` starts the simulator in this process and points the connection at it.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { CmdbApi, cmdbService, type Gateway } from '../http/cmdb.js';
import { createHttpClient, type HttpClient } from '../http/client.js';
import { InFlight } from '../http/in-flight.js';
import { FeishuApi, feishuService, TenantTokenManager } from '../http/feishu.js';
import { parseRate, Throttle, type RateWindow } from '../http/limiter.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../http/retry.js';
import { Sender, type SendStats } from '../http/sender.js';
import { requireCmdb, requireFeishu, resolveCmdbSettings, resolveFeishuSettings } from '../config/settings.js';
import type { Connection } from '../pipeline/run.js';
import type { ConnectOptions } from './manifests/shared.js';

export interface ConnectIo {
  env: NodeJS.ProcessEnv;
  warn(line: string): void;
  trace(line: string): void;
  onWait(ms: number, reason: string): void;
}

const APIGW_DEFAULT: RateWindow[] = [{ limit: 100, windowMs: 1000 }];
const FEISHU_DEFAULT: RateWindow[] = [
  { limit: 50, windowMs: 1000 },
  { limit: 1000, windowMs: 60_000 },
];

function policyOf(f: ConnectOptions): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, retries: f.retries, baseMs: f.retryDelay };
}

function clientOptions(f: ConnectOptions, io: ConnectIo, baseUrl: string, secrets: string[] | (() => string[]), inFlight: InFlight) {
  if (f.insecure) io.warn('warning: --insecure: TLS certificates are NOT verified; anyone on the path can read and change this traffic');
  let ca: Buffer | undefined;
  if (f.ca) {
    try {
      ca = readFileSync(f.ca);
    } catch (e) {
      throw new UsageError(`cannot read --ca ${f.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return {
    baseUrl,
    timeoutMs: Math.round(f.timeout * 1000),
    connections: inFlight.max + 2,
    ca,
    insecure: f.insecure,
    trace: f.verbose ? io.trace : undefined,
    secrets,
    userAgent: 'cmdb-bulk',
  };
}

function assemble(client: HttpClient, sender: Sender, throttle: Throttle, inFlight: InFlight, extra: Partial<Connection>, onClose?: () => Promise<void>): Connection {
  return {
    ...extra,
    inFlight,
    cancelWaiting: () => throttle.cancelWaiting(),
    stats: () => sender.stats,
    close: async () => {
      await client.close();
      await onClose?.();
    },
  };
}

/** A simulator started for --sandbox; shared by both services of one run. */
async function sandbox(io: ConnectIo) {
  const { startSimulator } = await import('../sim/index.js');
  const sim = await startSimulator({});
  io.warn(`sandbox: built-in simulator on ${sim.urls.esb} (nothing leaves this machine)`);
  return sim;
}

export async function connectCmdb(f: ConnectOptions, io: ConnectIo): Promise<Connection> {
  let url: string, gateway: Gateway, creds: { appCode: string; appSecret: string; username?: string; token?: string };
  let stopSim: (() => Promise<void>) | undefined;
  if (f.sandbox) {
    const sim = await sandbox(io);
    gateway = f.gateway ?? 'esb';
    url = gateway === 'apigw' ? sim.urls.apigw : sim.urls.esb;
    creds = { appCode: sim.credentials.bkAppCode, appSecret: sim.credentials.bkAppSecret, username: io.env.BK_USERNAME || 'admin' };
    stopSim = () => sim.close();
  } else {
    const s = requireCmdb(await resolveCmdbSettings({ flags: f, env: io.env, warn: io.warn }));
    url = s.url;
    gateway = s.gateway;
    creds = { appCode: s.appCode, appSecret: s.appSecret, username: s.username, token: s.token };
  }
  const secrets = [creds.appSecret, creds.token].filter((v): v is string => !!v);
  const windows = f.rate !== undefined ? parseRate(f.rate) : gateway === 'apigw' ? APIGW_DEFAULT : [];
  const inFlight = new InFlight(windows, f.concurrency);
  const client = createHttpClient(clientOptions(f, io, url, secrets, inFlight));
  const throttle = new Throttle({ windowsFor: () => windows, onWait: io.onWait, inFlight });
  const tenant = f.tenant || io.env.BK_TENANT_ID || undefined;
  const supplierAccount = f.supplierAccount || io.env.BK_SUPPLIER_ACCOUNT || undefined;
  const service = cmdbService({ gateway, credentials: creds, language: 'en', tenant, supplierAccount });
  const sender = new Sender({ client, service, throttle, policy: policyOf(f) });
  return assemble(client, sender, throttle, inFlight, { cmdb: new CmdbApi({ sender, gateway }) }, stopSim);
}

export async function connectFeishu(f: ConnectOptions, io: ConnectIo): Promise<Connection> {
  let url: string, appId: string, appSecret: string;
  let stopSim: (() => Promise<void>) | undefined;
  if (f.sandbox) {
    const sim = await sandbox(io);
    url = sim.urls.feishu;
    appId = sim.credentials.feishuAppId;
    appSecret = sim.credentials.feishuAppSecret;
    stopSim = () => sim.close();
  } else {
    const s = requireFeishu(await resolveFeishuSettings({ flags: f, env: io.env, warn: io.warn }));
    ({ url, appId, appSecret } = s);
  }
  // The tenant token changes during a run: mask whichever is current, and the app secret.
  let tokens: TenantTokenManager | undefined;
  const windows = f.rate !== undefined ? parseRate(f.rate) : FEISHU_DEFAULT;
  const inFlight = new InFlight(windows, f.concurrency);
  const client = createHttpClient(clientOptions(f, io, url, () => [appSecret, ...(tokens?.secrets() ?? [])], inFlight));
  const throttle = new Throttle({ windowsFor: () => windows, onWait: io.onWait, inFlight });
  tokens = new TenantTokenManager({ client, credentials: { appId, appSecret }, throttle, policy: policyOf(f) });
  const service = feishuService({ tokens });
  const sender = new Sender({ client, service, throttle, policy: policyOf(f) });
  return assemble(client, sender, throttle, inFlight, { feishu: new FeishuApi({ sender }) }, stopSim);
}

export type { SendStats };
