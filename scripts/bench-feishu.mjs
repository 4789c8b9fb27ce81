#!/usr/bin/env node
// Feishu benchmark: 100,000 record updates (apaas-update, the built CLI) against the simulator with the real
// windows, 50 requests/s and 1000 requests/min. Prints the request rate achieved, the ceiling the windows allow,
// their ratio and the 429s received. Build first (`npm run build`); run with `node scripts/bench-feishu.mjs`
// (`--quick`: skip the long case; BENCH_CONCURRENCY sets --concurrency, default 8). Not part of the test suite.
//
// 100,000 records at 500 a request is only 200 requests: they fit in one minute's budget, so only the 50/s window
// binds (about 4 s). The same run with no windows at all shows what this machine can push (when that is not far
// above 50/s, the machine, not the limiter, sets the pace). At 50 records a request it is 2,000 requests and the
// 1000/min window binds too: 1,000 requests in the first 20 s, then nothing until the minute has passed (about
// 80 s) — the long run the quality bar is about. All three run in under two minutes.
//
// Times are taken on the simulator's side (when it answers each update), so start-up and the reading passes are
// not counted. "Rate" is requests divided by the time from the first request until the windows let the next one
// go (for the run as it happened, and for the fastest schedule the windows allow): the budget the run used up;
// for a long run it converges to the windows' sustained rate.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { startSimulator } = await import(join(root, 'dist/sim/index.js'));
const WINDOWS = [{ limit: 50, windowMs: 1000 }, { limit: 1000, windowMs: 60_000 }];
const RECORDS = 100_000;
const NS = 'bench__c';
const OBJ = 'device';
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? '8';
const cases = [
  { batch: 500, limited: true },
  { batch: 500, limited: false },
  ...(process.argv.includes('--quick') ? [] : [{ batch: 50, limited: true }]),
];

/** When the windows let request number n go, given the times of requests 0..n-1 (sliding logs). */
function nextAllowed(times) {
  const n = times.length;
  let at = times[n - 1];
  for (const w of WINDOWS) if (n >= w.limit) at = Math.max(at, times[n - w.limit] + w.windowMs);
  return at;
}

/** The fastest schedule: each request at the earliest moment every window allows. */
function fastest(n) {
  const t = [];
  for (let i = 0; i < n; i++) t.push(i === 0 ? 0 : nextAllowed(t));
  return t;
}

async function runCase(dir, { batch, limited }) {
  const times = [];
  const sim = await startSimulator({
    feishuWindows: limited ? WINDOWS : false,
    log: (line) => {
      if (line.includes(' feishu_batch_update -> ')) times.push(Date.now());
    },
  });
  try {
    // 100,000 existing records to update (ids continue the simulator's sequence).
    const table = sim.store.table(NS, OBJ);
    const firstId = sim.store.nextFeishuId;
    for (let i = 0; i < RECORDS; i++) {
      const id = String(sim.store.nextFeishuId++);
      table.set(id, { _id: id, status: 'online', cpu_cores: 8 });
    }
    const input = join(dir, 'updates.ndjson');
    const lines = [];
    for (let i = 0; i < RECORDS; i++) lines.push(JSON.stringify({ _id: String(firstId + i), status: 'maintenance', cpu_cores: 16 + (i % 3) }));
    writeFileSync(input, lines.join('\n') + '\n');

    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', FEISHU_URL: sim.urls.feishu, FEISHU_APP_ID: sim.credentials.feishuAppId, FEISHU_APP_SECRET: sim.credentials.feishuAppSecret };
    const args = [join(root, 'bin/cmdb-bulk.js'), 'apaas-update', input, '--namespace', NS, '--object', OBJ, '--batch-size', String(batch), '--concurrency', CONCURRENCY, '--rate', limited ? '50/s,1000/min' : 'off', '--report', join(dir, 'report.csv'), '--json', '--quiet'];
    const started = Date.now();
    let stdout = '';
    const code = await new Promise((done) => {
      const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.on('data', (d) => (stdout += d));
      child.on('close', done);
    });
    const summary = JSON.parse(stdout || '{}');
    const rel = times.map((t) => t - times[0]);
    return { code, wall: Date.now() - started, summary, rel, requests: Math.ceil(RECORDS / batch), counters: sim.counters() };
  } finally {
    await sim.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'cmdb-bulk-bench-feishu-'));
try {
  for (const c of cases) {
    const r = await runCase(dir, c);
    const span = r.rel.at(-1) / 1000;
    console.log(`apaas-update: ${RECORDS.toLocaleString('en')} records, ${c.batch} a request = ${r.requests} requests, --concurrency ${CONCURRENCY}, ${c.limited ? 'windows 50/s + 1000/min' : 'NO windows (what this machine can push)'}`);
    console.log(`  exit ${r.code}; ${r.summary.ok ?? '?'} ok, ${r.counters.rowsApplied.feishu_batch_update ?? 0} records updated on the simulator; process wall time ${(r.wall / 1000).toFixed(1)} s`);
    if (c.limited) {
      const best = fastest(r.requests);
      const achieved = r.rel.length / (nextAllowed(r.rel) / 1000);
      const ceiling = r.requests / (nextAllowed(best) / 1000);
      console.log(`  first to last request: ${span.toFixed(2)} s (fastest the windows allow: ${(best.at(-1) / 1000).toFixed(2)} s)`);
      console.log(`  requests/s achieved: ${achieved.toFixed(2)}  ceiling: ${ceiling.toFixed(2)}  ratio: ${((achieved / ceiling) * 100).toFixed(1)}%`);
    } else {
      console.log(`  first to last request: ${span.toFixed(2)} s: ${((r.rel.length - 1) / span).toFixed(1)} requests/s`);
    }
    console.log(`  429s received: ${r.counters.http429} (client waits: ${r.summary.rate_limited ?? '?'}), token fetches: ${r.counters.tokenFetches}`);
    console.log(`  records/s while sending: ${Math.round(RECORDS / (span || 1)).toLocaleString('en')}\n`);
    if (r.code !== 0 || r.rel.length !== r.requests) process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
