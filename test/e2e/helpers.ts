/**
 * End-to-end helpers: the simulator runs in the test process; the CLI runs as a child process from the BUILT
 * bin/cmdb-bulk.js, talking to the simulator over real loopback HTTP.
 */
import { afterAll, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { startSimulator, type SimOptions, type Simulator } from '../../src/sim/index.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/cmdb-bulk.js');
export const FIXTURES = join(ROOT, 'fixtures');

if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
  throw new Error('dist/ is missing: the end-to-end tests run the built CLI; run `npm test` (it builds first) or `npm run build`');
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOpts {
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
  /** Called with the child once it runs (to send signals). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
}

/** Environment with nothing inherited that could change behaviour (CI, colours, credentials). */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function runCli(args: string[], o: RunOpts = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: o.cwd ?? ROOT, env: cleanEnv(o.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cmdb-bulk ${args.join(' ')} timed out\nstderr:\n${stderr}`));
    }, o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    o.onSpawn?.(child);
    child.stdin.end(o.input ?? '');
  });
}

/** Environment that points the CLI at the simulator through one front door. */
export function cmdbEnv(sim: Simulator, gateway: 'esb' | 'apigw', extra: Record<string, string | undefined> = {}) {
  return {
    CMDB_URL: gateway === 'apigw' ? sim.urls.apigw : sim.urls.esb,
    CMDB_GATEWAY: gateway,
    BK_APP_CODE: sim.credentials.bkAppCode,
    BK_APP_SECRET: sim.credentials.bkAppSecret,
    BK_USERNAME: 'admin',
    ...extra,
  };
}

export function feishuEnv(sim: Simulator, extra: Record<string, string | undefined> = {}) {
  return { FEISHU_URL: sim.urls.feishu, FEISHU_APP_ID: sim.credentials.feishuAppId, FEISHU_APP_SECRET: sim.credentials.feishuAppSecret, ...extra };
}

export async function withSim(opts: SimOptions = {}): Promise<Simulator> {
  return startSimulator({ seed: 7, ...opts });
}

/**
 * One simulator and one temporary folder for a test file: `const { sim, tmp } = await useSim();` at the top of the
 * file. The simulator is reset after each test and closed, with the folder, after the file.
 */
export async function useSim(opts: SimOptions = {}): Promise<{ sim: Simulator; tmp: ReturnType<typeof tempDir> }> {
  const sim = await withSim(opts);
  const tmp = tempDir();
  afterEach(() => sim.reset());
  afterAll(async () => {
    await sim.close();
    tmp.cleanup();
  });
  return { sim, tmp };
}

export function tempDir(): { dir: string; file(name: string, content?: string | Buffer): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-e2e-'));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      if (content !== undefined) writeFileSync(p, content);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface ReportRow {
  row: number;
  status: string;
  id?: string;
  error_code?: string;
  error?: string;
  detail?: string;
  [k: string]: unknown;
}

/** Reads a report in any of the three formats into plain rows (row as a number). */
export function readReport(path: string): ReportRow[] {
  const text = readFileSync(path, 'utf8');
  let rows: Record<string, unknown>[];
  if (path.endsWith('.csv')) rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, unknown>[];
  else if (path.endsWith('.json')) rows = JSON.parse(text) as Record<string, unknown>[];
  else rows = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return rows.map((r) => ({ ...r, row: Number(r.row), status: String(r.status) }) as ReportRow);
}

export function csv(lines: string[]): string {
  return lines.join('\n') + '\n';
}

/** Every input row exactly once, in order. */
export function expectRowsOnce(report: ReportRow[], total: number) {
  const rows = report.map((r) => r.row);
  const expected = Array.from({ length: total }, (_, i) => i + 1);
  if (JSON.stringify(rows) !== JSON.stringify(expected)) {
    throw new Error(`report rows are not 1..${total} once each in order: got ${rows.length} rows, first ${rows.slice(0, 10).join(',')}`);
  }
}
