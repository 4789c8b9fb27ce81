/**
 * `cmdb-bulk sim`: start the simulator, print where it listens and which
 * credentials it accepts, stay up until SIGINT/SIGTERM. Secrets are printed
 * only when they are the public demo ones.
 */
import { startSimulator, DEMO_CREDENTIALS, type SimFaults, type Simulator } from './index.js';
import { UsageError } from '../core/errors.js';

export interface SimCommandOptions {
  port?: number;
  latency?: number;
  errorRate?: number;
  dropRate?: number;
  applied504Rate?: number;
  seed?: number;
  tokenTtl?: number;
  noRateLimit?: boolean;
}

/** Shell-safe single-quoted value. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function describeSimulator(sim: Simulator): string {
  const c = sim.credentials;
  const secret = (value: string, demo: string, envName: string) =>
    value === demo ? `export ${envName}=${q(value)}` : `# ${envName}: taken from your environment (not shown)`;
  return [
    `cmdb-bulk simulator listening on 127.0.0.1:${sim.port}`,
    '',
    `  CMDB via ESB:        ${sim.urls.esb}   (POST /api/c/compapi/v2/cc/{operation}/)`,
    `  CMDB via apigw:      ${sim.urls.apigw}   (/api/v3/...)`,
    `  Feishu aPaaS:        ${sim.urls.feishu}   (/open-apis/...)`,
    `  control:             ${sim.urls.control}   (GET state, GET counters, POST faults, POST reset)`,
    '',
    c.bkAppCode === DEMO_CREDENTIALS.bkAppCode && c.bkAppSecret === DEMO_CREDENTIALS.bkAppSecret
      ? '  credentials: demo (printed below)'
      : '  credentials: from your environment (secrets not shown)',
    '',
    '# paste into your shell (apigw front door; for ESB use the ESB line instead):',
    `export CMDB_URL=${q(sim.urls.apigw)}`,
    `# export CMDB_URL=${q(sim.urls.esb)}   # ESB front door`,
    `export BK_APP_CODE=${q(c.bkAppCode)}`,
    secret(c.bkAppSecret, DEMO_CREDENTIALS.bkAppSecret, 'BK_APP_SECRET'),
    `export BK_USERNAME='admin'`,
    `export FEISHU_URL=${q(sim.urls.feishu)}`,
    `export FEISHU_APP_ID=${q(c.feishuAppId)}`,
    secret(c.feishuAppSecret, DEMO_CREDENTIALS.feishuAppSecret, 'FEISHU_APP_SECRET'),
    '',
  ].join('\n');
}

/**
 * Starts the simulator and serves until SIGINT/SIGTERM (or until `until` settles,
 * which lets a test or an embedding program stop it without a signal).
 */
export async function runSimCommand(opts: SimCommandOptions, out: NodeJS.WritableStream, until?: Promise<unknown>): Promise<void> {
  const shares: [string, number | undefined][] = [['--error-rate', opts.errorRate], ['--drop-rate', opts.dropRate], ['--applied-504-rate', opts.applied504Rate]];
  for (const [flag, v] of shares) {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new UsageError(`${flag} must be a share between 0 and 1, got ${v}`);
  }
  for (const [flag, v] of [['--latency', opts.latency], ['--token-ttl', opts.tokenTtl]] as const) {
    if (v !== undefined && !(v >= 0)) throw new UsageError(`${flag} must be a number >= 0, got ${v}`);
  }
  const faults: SimFaults = {};
  if (opts.latency) faults.latencyMs = opts.latency;
  if (opts.errorRate) faults.error5xxRate = opts.errorRate;
  if (opts.dropRate) faults.dropRate = opts.dropRate;
  if (opts.applied504Rate) faults.appliedThen504Rate = opts.applied504Rate;
  let sim: Simulator;
  try {
    sim = await startSimulator({
      port: opts.port ?? 0,
      seed: opts.seed,
      tokenTtlSec: opts.tokenTtl || undefined,
      faults,
      ...(opts.noRateLimit ? { feishuWindows: false, apigwWindows: false, esbWindows: false } : {}),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new UsageError(`cannot listen on 127.0.0.1:${opts.port}: ${code}`, 'pick another --port, or 0 for any free port');
    throw e;
  }
  out.write(describeSimulator(sim));
  if (Object.keys(faults).length) out.write(`faults: ${JSON.stringify(faults)}\n`);
  out.write('press Ctrl-C to stop\n');
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    until?.then(stop, stop);
  });
  await sim.close();
  out.write('simulator stopped\n');
}
