#!/usr/bin/env node
// The benchmark: `npm run bench` (builds first). Plain Node; prints a table and writes bench-results/bench.json.
// Every figure stands next to its reference. Data is generated in a temp folder; every server is a simulator on
// 127.0.0.1 started and stopped here. docs/performance.md explains the cases and records a run.
//
//   node scripts/bench.mjs [--runs 3] [--rows 1000000] [--send-rows 100000] [--only 1,2,3,4,5,6,7,8] [--sync-rows 100000]
//                          [--xlsx-rows 100000,1000000] [--xlsx-runs 1] [--c1-variants bare,bare_ndjson,ndjson,...]
//                          [--xlsx-variants csv,xlsx_cmdb,xlsx_excel,xlsx_excel_heap_256,
//                          xlsx_excel_young_fixed,reader_cmdb,reader_excel,bare_reader] [--xlsx-files <dir>]
//
// 1. read + validate + batch of a 1,000,000-row CSV (8 columns): create-inst --dry-run --no-schema, the same
//    with header type hints, and with the model's schema (fetched once from the simulator): rows/s and peak RSS
//    of the CLI process, next to a bare csv-parse loop over the same file (ratio tool / bare parse); the same rows
//    as NDJSON and as one JSON array, with and without the schema, next to a bare readline + JSON.parse loop and
//    one JSON.parse of the whole file (issue 16 §2 bars: CSV with schema ≥ 0.85×, NDJSON ≥ 0.5×, JSON ≥ 0.8×).
// 2. create-inst of 100,000 rows to the simulator (CMDB over ESB, no rate limit), 0 ms and 50 ms added latency,
//    concurrency 1, 4, 16: rows/s and requests/s, next to what the latency allows.
// 3. apaas-update of 100,000 records with the real 50/s + 1000/min windows at 0, 30 and 150 ms latency, default
//    options: 500 a request (200 requests; only 50/s binds), the same with no windows (the machine's own speed), and
//    50 a request (2,000 requests: the minute window binds, ~80 s); then create-inst over the API gateway's 100/s at
//    100 ms: requests/s next to the fastest schedule the windows allow, and the 429s received (must be 0).
// 4. start-up: `cmdb-bulk --help`, `create-inst --help`, `--version`, a 1-row create-inst --dry-run --no-schema and a
//    1-row create-inst --sandbox: median wall time of 20 (--startup-runs) after 3 warm-ups, interleaved, and mean
//    CPU time, next to `node -e 0` (bars: --help ≤ node + 40 ms, the dry run ≤ node + 150 ms).
// 5. reading .xlsx: create-inst --dry-run (model schema) of 100,000 and 1,000,000 bk_switch rows as CMDB's workbook
//    layout (inline strings, display names, Excel booleans and dates), as an Excel-saved sheet (shared strings after
//    the sheet) and as the same rows in CSV: rows/s and peak RSS, next to the tool's reader alone (one pass, no checks),
//    a bare WorkbookReader loop over the file, the CSV, and the 20,000 rows/s a real run can send (gateway 100
//    requests/s × 200 rows); bar 150 MB peak RSS (issue 16 §2).
// 6. sync of 100,000 rows (--sync-rows) against a model holding them, 1% changed, over apigw with 20 ms latency and
//    the gateway's 100 requests/s: --plan-only (rows/s planned), the sync itself, and update-inst --key of every
//    row (what sending every row as an update costs): wall time, requests per 1,000 rows, CLI CPU.
// 7. the simulator alone (in this process): 200,000 creates then 200,000 updates, 200 a request: seconds and the
//    cost of a request at the start and at the end (it must not grow with the store).
// 8. export of 1,000,000 bk_switch instances to CSV and NDJSON from a minimal loopback server that answers the
//    calls export makes from the id cursor (the simulator filters and sorts its whole store for every page, which
//    at a million rows would measure the simulator): peak RSS of the CLI (flat memory) and rows/s; then 100,000
//    instances from the simulator itself (the real request checks), both front doors.
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/cmdb-bulk.js');
const OUT_DIR = join(ROOT, 'bench-results');

// ------------------------------------------------------------------ options
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const RUNS = Number(opt('runs', 3));
const ROWS = Number(opt('rows', 1_000_000));
const ONLY = new Set(String(opt('only', '1,2,3,4,5,6,7,8')).split(',').map(Number));
const XLSX_ROWS = String(opt('xlsx-rows', '100000,1000000')).split(',').map(Number);
const XLSX_RUNS = Number(opt('xlsx-runs', 1));
// Case 5 subsets: one layout at one size alone (--xlsx-variants xlsx_excel --xlsx-rows 1000000); --xlsx-files keeps the
// generated files in a folder and reuses them (writing a million-row workbook takes longer than reading it).
const XLSX_VARIANTS = opt('xlsx-variants')?.split(',');
const XLSX_FILES = opt('xlsx-files');
const SEND_ROWS = Number(opt('send-rows', 100_000));
const SYNC_ROWS = Number(opt('sync-rows', 100_000));
// Subsets for a quick look at memory: --send-rows 0 --c2-big 4 (only the million-row send at concurrency 4; also 16,
// 16-capped) and --c8-big csv (only the million-row CSV export; also ndjson, csv-capped).
const C2_BIG = opt('c2-big')?.split(',');
const C8_BIG = opt('c8-big')?.split(',');

const { startSimulator } = await import(join(ROOT, 'dist/sim/index.js'));
const tmp = mkdtempSync(join(os.tmpdir(), 'cmdb-bulk-bench-'));
const GNU_TIME = hasGnuTime();
const results = { machine: machine(), started: new Date().toISOString(), options: { runs: RUNS, rows: ROWS, send_rows: SEND_ROWS }, cases: {} };
const table = [];

// ------------------------------------------------------------------ helpers
function machine() {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism?.() ?? cpus.length,
    cpu: cpus[0]?.model ?? 'unknown',
    memory_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg_start: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

function hasGnuTime() {
  if (!existsSync('/usr/bin/time')) return false;
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', '/dev/null', 'true']);
  return r.status === 0;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n, d = 0) => (n === undefined || n === null || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const pct = (x) => `${fmt(x * 100, 1)}%`;
const row = (caseName, figure, value, reference, verdict = '') => {
  table.push([caseName, figure, value, reference, verdict]);
  process.stdout.write(`  ${figure}: ${value}  [${reference}] ${verdict}\n`);
};

/** A preload for when GNU time is missing: writes the process's peak RSS and CPU time at exit. */
function rusagePreload() {
  const p = join(tmp, 'rusage-preload.mjs');
  if (!existsSync(p)) {
    writeFileSync(
      p,
      `import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const r = process.resourceUsage();
  writeFileSync(process.env.BENCH_RUSAGE, JSON.stringify({ rssKb: r.maxRSS, user: r.userCPUTime / 1e6, sys: r.systemCPUTime / 1e6 }));
});
`,
    );
  }
  return p;
}

/**
 * Runs `node <nodeArgs>` and measures it: wall time (ms, spawn to exit, start-up included), peak RSS (KB) and CPU
 * seconds (user + sys) of the process — by GNU time when present, else by a preload reading resourceUsage().
 */
function measure(nodeArgs, { env = {}, cwd = ROOT, timeoutMs = 600_000 } = {}) {
  const usage = join(tmp, `usage-${process.hrtime.bigint()}.txt`);
  const fullEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmp, NO_COLOR: '1', ...env };
  let cmd, args;
  if (GNU_TIME) {
    cmd = '/usr/bin/time';
    args = ['-f', '%e %U %S %M', '-o', usage, process.execPath, ...nodeArgs];
  } else {
    cmd = process.execPath;
    args = ['--import', rusagePreload(), ...nodeArgs];
    fullEnv.BENCH_RUSAGE = usage;
  }
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      let rssKb, cpu;
      try {
        if (GNU_TIME) {
          const [, u, s, m] = readFileSync(usage, 'utf8').trim().split('\n').pop().split(' ').map(Number);
          rssKb = m;
          cpu = u + s;
        } else {
          const j = JSON.parse(readFileSync(usage, 'utf8'));
          rssKb = j.rssKb;
          cpu = j.user + j.sys;
        }
      } catch {
        /* the process died before writing: figures stay undefined */
      }
      rmSync(usage, { force: true });
      res({ code, wallMs, rssKb, cpu, stdout, stderr });
    });
  });
}

function cli(args, o) {
  return measure([BIN, ...args], o);
}

function summaryOf(r) {
  const line = r.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`no JSON summary (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  }
}

function expectOk(r, what) {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
}

async function writeLines(path, header, n, line) {
  const out = createWriteStream(path);
  let buf = header;
  for (let i = 1; i <= n; i++) {
    buf += line(i);
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await new Promise((r) => out.once('drain', r));
      buf = '';
    }
  }
  await new Promise((r) => out.end(buf, r));
}

const VENDORS = ['cisco', 'huawei', 'h3c'];
/** A bk_switch row like the fixtures: 8 columns, all valid for the simulator's model. */
const switchRow = (i) =>
  `switch-${i},SW-${String(i).padStart(7, '0')},SN${100000000 + i},admin,${(i % 1024) + 1},${i % 2 ? 'true' : 'false'},${VENDORS[i % 3]},2023-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}\n`;
const SWITCH_HEADER = 'bk_inst_name,bk_asset_id,bk_sn,bk_operator,port_count,is_managed,vendor,bought_on\n';
const SWITCH_HEADER_HINTS = 'bk_inst_name,bk_asset_id,bk_sn,bk_operator,port_count:int,is_managed:bool,vendor,bought_on:date\n';

function cmdbEnv(sim) {
  return { CMDB_URL: sim.urls.esb, CMDB_GATEWAY: 'esb', BK_APP_CODE: sim.credentials.bkAppCode, BK_APP_SECRET: sim.credentials.bkAppSecret, BK_USERNAME: 'admin' };
}
function feishuEnv(sim) {
  return { FEISHU_URL: sim.urls.feishu, FEISHU_APP_ID: sim.credentials.feishuAppId, FEISHU_APP_SECRET: sim.credentials.feishuAppSecret };
}

// ------------------------------------------------------------------ case 1
async function case1() {
  console.log(`\n1. read + validate + batch, ${fmt(ROWS)} rows × 8 columns (median of ${RUNS} runs)`);
  const plain = join(tmp, 'switches.csv');
  const hinted = join(tmp, 'switches-hints.csv');
  const ndjson = join(tmp, 'switches.ndjson');
  const jsonArray = join(tmp, 'switches.json');
  await writeLines(plain, SWITCH_HEADER, ROWS, switchRow);
  await writeLines(hinted, SWITCH_HEADER_HINTS, ROWS, switchRow);
  // The same rows as NDJSON with JSON types (not one of the brief's figures: shown so the table hides nothing).
  const names = SWITCH_HEADER.trim().split(',');
  const switchObject = (i) => {
    const cells = switchRow(i).trim().split(',');
    const o = Object.fromEntries(names.map((k, j) => [k, cells[j]]));
    o.port_count = Number(o.port_count);
    o.is_managed = o.is_managed === 'true';
    return JSON.stringify(o);
  };
  await writeLines(ndjson, '', ROWS, (i) => switchObject(i) + '\n');
  // And as one JSON array (the element scanner of input/json.ts), closed by a last line.
  await writeLines(jsonArray, '[\n', ROWS, (i) => switchObject(i) + (i < ROWS ? ',\n' : '\n]\n'));
  const report = join(tmp, 'dry.report.csv');
  const dry = ['--obj', 'bk_switch', '--dry-run', '--no-progress', '--quiet', '--json', '--report', report];
  const bareCode = `
    import { createReadStream } from 'node:fs';
    import { parse } from 'csv-parse';
    let n = 0;
    for await (const rec of createReadStream(process.argv[1]).pipe(parse())) n++;
    if (n !== ${ROWS + 1}) throw new Error('bare parse read ' + n + ' records');
  `;
  // The references for JSON input (issue 16 §2): a bare readline + JSON.parse loop over the NDJSON file, and one
  // JSON.parse of the whole JSON file.
  const bareNdjson = `
    import { createReadStream } from 'node:fs';
    import { createInterface } from 'node:readline';
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(process.argv[1]), crlfDelay: Infinity })) if (line) { JSON.parse(line); n++; }
    if (n !== ${ROWS}) throw new Error('bare NDJSON loop read ' + n + ' records');
  `;
  const bareJson = `
    import { readFileSync } from 'node:fs';
    const n = JSON.parse(readFileSync(process.argv[1], 'utf8')).length;
    if (n !== ${ROWS}) throw new Error('bare JSON.parse read ' + n + ' records');
  `;
  const sim = await startSimulator({ world: 'empty-extra' });
  // Each run writes a fresh plan: a plan left by the run before would be read first (--report never writes over a
  // report with ok rows), which is a cost of that run's leftovers, not of reading the input.
  const planOf = (report) => report.replace(/\.report\.(\w+)$/, '.plan.$1');
  const fresh = (report, run) => () => {
    rmSync(planOf(report), { force: true });
    return run();
  };
  const rep = { csv: report, ndjson: join(tmp, 'dry.report.ndjson'), json: join(tmp, 'dry-json.report.ndjson') };
  const dryTo = (r) => [...dry.slice(0, -1), r];
  const variants = {
    bare: () => measure(['--input-type=module', '-e', bareCode, plain]),
    bare_ndjson: () => measure(['--input-type=module', '-e', bareNdjson, ndjson]),
    bare_json: () => measure(['--input-type=module', '-e', bareJson, jsonArray]),
    no_schema: fresh(rep.csv, () => cli(['create-inst', plain, '--no-schema', ...dry])),
    hints: fresh(rep.csv, () => cli(['create-inst', hinted, '--no-schema', ...dry])),
    schema: fresh(rep.csv, () => cli(['create-inst', plain, ...dry], { env: cmdbEnv(sim) })),
    ndjson: fresh(rep.ndjson, () => cli(['create-inst', ndjson, '--no-schema', ...dryTo(rep.ndjson)])),
    json: fresh(rep.json, () => cli(['create-inst', jsonArray, '--no-schema', ...dryTo(rep.json)])),
    ndjson_schema: fresh(rep.ndjson, () => cli(['create-inst', ndjson, ...dryTo(rep.ndjson)], { env: cmdbEnv(sim) })),
    json_schema: fresh(rep.json, () => cli(['create-inst', jsonArray, ...dryTo(rep.json)], { env: cmdbEnv(sim) })),
  };
  const only1 = opt('c1-variants');
  if (only1) for (const k of Object.keys(variants)) if (!only1.split(',').includes(k)) delete variants[k];
  const runs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  try {
    // Interleaved, so that a noisy minute on the machine hits every variant alike.
    for (let i = 0; i < RUNS; i++) {
      for (const [k, run] of Object.entries(variants)) {
        const r = await run();
        expectOk(r, `case 1 ${k}`);
        if (!k.startsWith('bare')) {
          const s = summaryOf(r);
          if (s.total !== ROWS || s.invalid !== 0) throw new Error(`case 1 ${k}: ${s.total} rows, ${s.invalid} invalid`);
        }
        runs[k].push(r);
      }
    }
  } finally {
    await sim.close();
  }
  const fig = (k) => {
    const rs = runs[k];
    if (!rs?.length) return undefined;
    const wall = median(rs.map((r) => r.wallMs));
    const cpu = median(rs.map((r) => r.cpu));
    return {
      wall_ms: Math.round(wall),
      rows_per_s: Math.round(ROWS / (wall / 1000)),
      cpu_s: +cpu.toFixed(2),
      rows_per_cpu_s: Math.round(ROWS / cpu),
      peak_rss_mb: +(median(rs.map((r) => r.rssKb)) / 1024).toFixed(1),
      max_peak_rss_mb: +(Math.max(...rs.map((r) => r.rssKb)) / 1024).toFixed(1),
      runs_wall_ms: rs.map((r) => Math.round(r.wallMs)),
      runs_cpu_s: rs.map((r) => +r.cpu.toFixed(2)),
    };
  };
  const c = { rows: ROWS, file_mb: +(readFileSync(plain).length / 2 ** 20).toFixed(1) };
  for (const k of Object.keys(variants)) c[k === 'bare' ? 'bare_csv_parse' : k] = fig(k);
  // Each variant next to the bare parse of its own format; the bars (issue 16): CSV with the model's schema
  // ≥ 0.85× csv-parse, NDJSON ≥ 0.5× the readline + JSON.parse loop, JSON ≥ 0.8× one JSON.parse of the file.
  const refOf = { no_schema: 'bare_csv_parse', hints: 'bare_csv_parse', schema: 'bare_csv_parse', ndjson: 'bare_ndjson', ndjson_schema: 'bare_ndjson', json: 'bare_json', json_schema: 'bare_json' };
  const barOf = { schema: 0.85, ndjson: 0.5, ndjson_schema: 0.5, json: 0.8, json_schema: 0.8 };
  for (const [k, ref] of Object.entries(refOf)) {
    if (!c[k] || !c[ref]) continue;
    c[k].reference = ref;
    c[k].ratio_to_bare = +(c[k].rows_per_s / c[ref].rows_per_s).toFixed(2);
    // Paired: run i of the tool against run i of its reference (they ran back to back), the median of those ratios.
    c[k].paired_ratio = +median(runs[k].map((r, i) => runs[ref === 'bare_csv_parse' ? 'bare' : ref][i].wallMs / r.wallMs)).toFixed(2);
    c[k].cpu_ratio_to_bare = +(c[ref].cpu_s / c[k].cpu_s).toFixed(2);
  }
  results.cases.read_validate_batch = c;
  const labels = { bare_csv_parse: 'bare csv-parse loop (reference)', bare_ndjson: 'bare readline + JSON.parse loop (reference)', bare_json: 'bare JSON.parse of the file (reference)' };
  for (const [k, label] of Object.entries(labels)) {
    const B = c[k];
    if (B) row('1', label, `${fmt(B.rows_per_s)} rows/s, ${fmt(B.peak_rss_mb, 1)} MB`, `${fmt(B.rows_per_cpu_s)} rows per CPU-s`);
  }
  for (const [k, label] of [['no_schema', '--dry-run --no-schema'], ['hints', '--dry-run --no-schema, type hints'], ['schema', '--dry-run, model schema'], ['ndjson', 'NDJSON input, --dry-run --no-schema'], ['json', 'JSON array input, --dry-run --no-schema'], ['ndjson_schema', 'NDJSON input, --dry-run, model schema'], ['json_schema', 'JSON array input, --dry-run, model schema']]) {
    const f = c[k];
    if (!f) continue;
    const bar = barOf[k];
    const ratioOk = bar === undefined || f.paired_ratio === undefined ? '' : f.paired_ratio >= bar ? `, ratio ok (≥ ${bar})` : `, RATIO BELOW ${bar}`;
    row('1', `${label}: rows/s`, `${fmt(f.rows_per_s)} (${fmt(f.rows_per_cpu_s)} per CPU-s)`, `${f.reference ?? 'bare'} ×${f.ratio_to_bare} (paired ×${f.paired_ratio}, CPU ×${f.cpu_ratio_to_bare}); bar ≥ 150,000`, (f.rows_per_s >= 150_000 ? 'ok' : 'BELOW BAR') + ratioOk);
    row('1', `${label}: peak RSS`, `${fmt(f.peak_rss_mb, 1)} MB (max ${fmt(f.max_peak_rss_mb, 1)})`, `bar ≤ 150 MB`, f.max_peak_rss_mb <= 150 ? 'ok' : 'ABOVE BAR');
  }
  for (const f of [plain, hinted, ndjson, jsonArray]) rmSync(f, { force: true });
}

// ------------------------------------------------------------------ case 2
async function case2() {
  console.log(`\n2. create-inst of ${fmt(SEND_ROWS)} rows to the simulator (ESB, no rate limit), batches of 200`);
  const file = join(tmp, 'create.csv');
  await writeLines(file, SWITCH_HEADER, SEND_ROWS, switchRow);
  const sim = await startSimulator({ world: 'empty-extra' });
  const out = [];
  const big1m = [];
  try {
    for (const latency of SEND_ROWS > 0 ? [0, 50] : []) {
      let base;
      for (const concurrency of [1, 4, 16]) {
        sim.reset();
        sim.setFaults(latency ? { latencyMs: latency } : {});
        const report = join(tmp, `create-${latency}-${concurrency}.report.csv`);
        const r = await cli(['create-inst', file, '--obj', 'bk_switch', '--concurrency', String(concurrency), '--no-progress', '--quiet', '--json', '--report', report], { env: cmdbEnv(sim) });
        expectOk(r, `case 2 latency ${latency} concurrency ${concurrency}`);
        const s = summaryOf(r);
        const stored = sim.store.instanceMap('bk_switch').size;
        if (s.ok !== SEND_ROWS || stored !== SEND_ROWS) throw new Error(`case 2: ${s.ok} ok, ${stored} stored`);
        const creates = sim.counters().requests.batch_create_inst ?? 0;
        const sec = r.wallMs / 1000;
        const f = {
          latency_ms: latency,
          concurrency,
          wall_ms: Math.round(r.wallMs),
          rows_per_s: Math.round(SEND_ROWS / sec),
          requests: s.requests,
          create_requests: creates,
          requests_per_s: +(s.requests / sec).toFixed(1),
          // CPU the CLI used: far below the wall time, the tool is not what limits the run.
          cli_cpu_s: +r.cpu.toFixed(2),
          peak_rss_mb: +(r.rssKb / 1024).toFixed(1),
          // With added latency each request takes at least that long: c requests of 200 rows per latency.
          latency_bound_rows_per_s: latency ? Math.round((concurrency * 200) / (latency / 1000)) : null,
        };
        base ??= f.rows_per_s;
        f.speedup_vs_c1 = +(f.rows_per_s / base).toFixed(2);
        out.push(f);
        row(
          '2',
          `${latency} ms latency, concurrency ${concurrency}`,
          `${fmt(f.rows_per_s)} rows/s, ${fmt(f.requests_per_s, 1)} req/s, CLI ${fmt(f.cli_cpu_s, 1)} CPU-s in ${fmt(f.wall_ms / 1000, 1)} s`,
          latency ? `latency allows ${fmt(f.latency_bound_rows_per_s)} rows/s (${pct(f.rows_per_s / f.latency_bound_rows_per_s)}); ×${f.speedup_vs_c1} vs c=1` : `×${f.speedup_vs_c1} vs c=1`,
        );
      }
    }
    // The same pipeline with a million rows: is memory flat while really sending? (peak RSS of the CLI process)
    console.log(`   create-inst of ${fmt(ROWS)} rows, no added latency: memory while sending`);
    const big = join(tmp, 'create-big.csv');
    await writeLines(big, SWITCH_HEADER, ROWS, switchRow);
    const bigRuns = [[4, ''], [16, ''], [16, '--max-old-space-size=512']].filter(([c, n]) => !C2_BIG || C2_BIG.includes(n ? `${c}-capped` : String(c)));
    for (const [concurrency, nodeOptions] of bigRuns) {
      sim.reset();
      sim.setFaults({});
      const report = join(tmp, `create-big-${concurrency}.report.csv`);
      const args = ['create-inst', big, '--obj', 'bk_switch', '--concurrency', String(concurrency), '--no-progress', '--quiet', '--json', '--report', report];
      const r = await cli(args, { env: { ...cmdbEnv(sim), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
      expectOk(r, `case 2 ${ROWS} rows concurrency ${concurrency}`);
      const s = summaryOf(r);
      if (s.ok !== ROWS || sim.store.instanceMap('bk_switch').size !== ROWS) throw new Error(`case 2 ${ROWS} rows: ${s.ok} ok`);
      const f = {
        rows: ROWS,
        concurrency,
        node_options: nodeOptions || null,
        wall_ms: Math.round(r.wallMs),
        rows_per_s: Math.round(ROWS / (r.wallMs / 1000)),
        cpu_s: +r.cpu.toFixed(2),
        peak_rss_mb: +(r.rssKb / 1024).toFixed(1),
      };
      big1m.push(f);
      row(
        '2',
        `${fmt(ROWS)} rows sent, concurrency ${concurrency}${nodeOptions ? `, NODE_OPTIONS=${nodeOptions}` : ''}`,
        `${fmt(f.peak_rss_mb, 1)} MB peak RSS, ${fmt(f.rows_per_s)} rows/s`,
        'bar ≤ 150 MB (the bar is measured on case 1; this is the sending path)',
        f.peak_rss_mb <= 150 ? 'ok' : 'ABOVE',
      );
    }
    rmSync(big, { force: true });
  } finally {
    await sim.close();
  }
  results.cases.create_inst = { rows: SEND_ROWS, batch: 200, runs: out, million_rows_sent: big1m };
}

// ------------------------------------------------------------------ case 3
// (Folded in from scripts/bench-feishu.mjs, written with the apaas-update work.)
const FEISHU_WINDOWS = [{ limit: 50, windowMs: 1000 }, { limit: 1000, windowMs: 60_000 }];
const APIGW_WINDOWS = [{ limit: 100, windowMs: 1000 }];

/** When the windows let request number n go, given the times of requests 0..n-1 (sliding logs). */
function nextAllowed(times, windows) {
  const n = times.length;
  let at = times[n - 1];
  for (const w of windows) if (n >= w.limit) at = Math.max(at, times[n - w.limit] + w.windowMs);
  return at;
}

/** The fastest schedule: each request at the earliest moment every window allows. */
function fastest(n, windows) {
  const t = [];
  for (let i = 0; i < n; i++) t.push(i === 0 ? 0 : nextAllowed(t, windows));
  return t;
}

/**
 * Where the time went, turn by turn: for each turn of the window of the highest rate (request number k × limit), how
 * much longer it took than in the fastest schedule — (rel[k·L] − rel[(k−1)·L]) − (best[k·L] − best[(k−1)·L]). The first
 * turn costs a round trip by design (the limiter counts it from the answer: docs/decisions.md, "Rate limiting"), the
 * later ones 1.5 × the spread of round trips + the margin; they add up to the shortfall of the ratio.
 */
function turnExcess(rel, best, windows) {
  const L = windows.reduce((a, w) => (w.limit / w.windowMs > a.limit / a.windowMs ? w : a)).limit;
  const out = [];
  for (let k = L; k < rel.length; k += L) out.push(Math.round(rel[k] - rel[k - L] - (best[k] - best[k - L])));
  return out;
}

/** The first three turns, then the median of the rest: "+171/+41/+48 (37 more: median +40)". */
function turnsText(t) {
  const signed = (x) => (x < 0 ? String(x) : `+${x}`);
  const head = t.slice(0, 3).map(signed).join('/');
  const rest = t.slice(3).sort((a, b) => a - b);
  return rest.length ? `${head} (${rest.length} more: median ${signed(rest[rest.length >> 1])})` : head;
}

async function case3() {
  // Default options (no --concurrency), as a user would run it, unless --c3-concurrency N is given.
  const concurrency = String(opt('c3-concurrency', 'default'));
  console.log(`\n3. sending against the simulator's rate windows at 0–150 ms latency (--concurrency ${concurrency})`);
  // 200 requests of apaas-update fit in one minute's budget, so only 50/s binds (~3 s): 500 records a request (100,000
  // records), and 50 a request (10,000 records: the same schedule with a tenth of the CPU, so a busy machine measures
  // the tool's schedule rather than its own speed). The same without windows shows what the machine can push. 2,000
  // requests (50 a request): the 1000/min window binds too — 1,000 requests in the first 20 s, then nothing until the
  // minute has passed (~80 s). And create-inst over the API gateway's 100/s (500 requests of 50 rows) at 100 ms.
  const setups = [
    { name: 'apaas-update, 500 a request, windows 50/s + 1000/min (only 50/s binds)', kind: 'apaas', requests: 200, batch: 500, windows: FEISHU_WINDOWS },
    { name: 'apaas-update, 50 a request, windows 50/s + 1000/min (only 50/s binds)', kind: 'apaas', requests: 200, batch: 50, windows: FEISHU_WINDOWS },
    { name: 'apaas-update, 500 a request, no windows (what this machine can push)', kind: 'apaas', requests: 200, batch: 500, windows: null, latencies: [0] },
    { name: 'apaas-update, 50 a request, windows 50/s + 1000/min (both bind)', kind: 'apaas', requests: 2000, batch: 50, windows: FEISHU_WINDOWS },
    { name: 'create-inst over apigw, 50 a request, its 100/s', kind: 'apigw', requests: 500, batch: 50, windows: APIGW_WINDOWS, latencies: [100] },
  ];
  // --latencies 0,30,150 (the default) is the server latency added to the windowed apaas setups; --c3-requests 200
  // keeps only the setups of that many requests (e.g. to skip the 80 s runs); --c3-batches 50 and --c3-kinds
  // apaas,apigw likewise.
  const latencies = String(opt('latencies', '0,30,150')).split(',').map(Number);
  const list = (name) => (opt(name) ? String(opt(name)).split(',') : null);
  const [requests, batches, kinds] = [list('c3-requests'), list('c3-batches'), list('c3-kinds')];
  const runs = setups
    .filter((s) => (!requests || requests.includes(String(s.requests))) && (!batches || batches.includes(String(s.batch))) && (!kinds || kinds.includes(s.kind)))
    .flatMap((s) => (s.latencies ?? latencies).map((latency) => ({ ...s, latency })));
  const out = [];
  for (const s of runs) {
    const times = [];
    const logOp = s.kind === 'apaas' ? ' feishu_batch_update -> ' : ' batch_create_inst -> ';
    // A fresh simulator per setup: its windows start empty, like a fresh app.
    const sim = await startSimulator({
      world: 'empty-extra',
      feishuWindows: s.kind === 'apaas' ? (s.windows ?? false) : false,
      apigwWindows: s.kind === 'apigw' ? s.windows : false,
      // The schedule is that of the accepted requests: a 429 (answered, then retried) is counted, not timed — it made
      // the run throw "213 of 200 requests answered" instead of reporting "429 RECEIVED".
      log: (line) => {
        if (line.endsWith(`${logOp}200`)) times.push(performance.now());
      },
    });
    if (s.latency) sim.setFaults({ latencyMs: s.latency });
    try {
      const rows = s.requests * s.batch;
      const report = join(tmp, `rate-${out.length}.report.ndjson`);
      const common = ['--batch-size', String(s.batch), ...(concurrency === 'default' ? [] : ['--concurrency', concurrency]), '--no-progress', '--quiet', '--json', '--report', report];
      let r, applied;
      if (s.kind === 'apaas') {
        const table = sim.store.table('bench__c', 'device');
        const firstId = sim.store.nextFeishuId;
        for (let i = 0; i < rows; i++) {
          const id = String(sim.store.nextFeishuId++);
          table.set(id, { _id: id, status: 'online', cpu_cores: 8 });
        }
        const file = join(tmp, `update-${out.length}.ndjson`);
        await writeLines(file, '', rows, (i) => `{"_id":"${firstId + i - 1}","status":"maintenance","cpu_cores":${16 + (i % 3)}}\n`);
        r = await cli(['apaas-update', file, '--namespace', 'bench__c', '--object', 'device', '--rate', s.windows ? '50/s,1000/min' : 'off', ...common], { env: feishuEnv(sim) });
        applied = () => sim.counters().rowsApplied.feishu_batch_update ?? 0;
      } else {
        const file = join(tmp, `create-${out.length}.csv`);
        await writeLines(file, SWITCH_HEADER, rows, switchRow);
        r = await cli(['create-inst', file, '--obj', 'bk_switch', ...common], { env: { ...cmdbEnv(sim), CMDB_URL: sim.urls.apigw, CMDB_GATEWAY: 'apigw' } });
        applied = () => sim.counters().rowsApplied.batch_create_inst ?? 0;
      }
      expectOk(r, `case 3 ${s.name}`);
      const sum = summaryOf(r);
      const counters = sim.counters();
      const n = Math.ceil(rows / s.batch);
      if (sum.ok !== rows || times.length !== n || applied() !== rows) {
        throw new Error(`case 3 ${s.name}: ${sum.ok} ok, ${applied()} applied, ${times.length} of ${n} requests accepted`);
      }
      const rel = times.map((t) => t - times[0]);
      const f = {
        setup: s.name,
        latency_ms: s.latency,
        concurrency,
        batch: s.batch,
        requests: n,
        records_ok: sum.ok,
        http_429: counters.http429,
        client_rate_limited: sum.rate_limited,
        token_fetches: counters.tokenFetches,
        wall_ms: Math.round(r.wallMs),
        first_to_last_ms: Math.round(rel.at(-1)),
        records_per_s_sending: Math.round(rows / (rel.at(-1) / 1000)),
        peak_rss_mb: +(r.rssKb / 1024).toFixed(1),
      };
      if (s.windows) {
        // "Rate": requests / time from the first request until the windows would let the next one go, for the run
        // as it happened and for the fastest schedule — so a run that ends in a burst is not flattered.
        const best = fastest(n, s.windows);
        f.fastest_first_to_last_ms = Math.round(best.at(-1));
        f.achieved_req_per_s = +(n / (nextAllowed(rel, s.windows) / 1000)).toFixed(2);
        f.ceiling_req_per_s = +(n / (nextAllowed(best, s.windows) / 1000)).toFixed(2);
        f.ratio = +(f.achieved_req_per_s / f.ceiling_req_per_s).toFixed(3);
        f.turn_excess_ms = turnExcess(rel, best, s.windows);
      } else {
        f.achieved_req_per_s = +((n - 1) / (rel.at(-1) / 1000)).toFixed(1);
      }
      out.push(f);
      row(
        '3',
        `${s.name}, ${s.latency} ms latency, concurrency ${concurrency}: ${n} requests`,
        `${fmt(f.achieved_req_per_s, 2)} req/s, ${f.http_429} × 429, first→last ${fmt(f.first_to_last_ms / 1000, 1)} s, ${f.peak_rss_mb} MB`,
        s.windows ? `ceiling ${fmt(f.ceiling_req_per_s, 2)} req/s (fastest ${fmt(f.fastest_first_to_last_ms / 1000, 1)} s): ${pct(f.ratio)}; turns ${turnsText(f.turn_excess_ms)} ms; bar ≥ 95%, 0 × 429` : `${fmt(f.records_per_s_sending)} records/s`,
        s.windows ? (f.http_429 === 0 && f.ratio >= 0.95 ? 'ok' : f.http_429 ? '429 RECEIVED' : 'BELOW BAR') : '',
      );
    } finally {
      await sim.close();
    }
  }
  results.cases.rate = { concurrency, runs: out };
}

// ------------------------------------------------------------------ case 4
/**
 * Start-up as hyperfine measures it: 3 warm-up runs, then STARTUP_RUNS runs of each command, interleaved (a busy
 * moment of the machine hits every command alike). Wall time (spawn to exit) and CPU time (user + system).
 */
const STARTUP_RUNS = Number(opt('startup-runs', 20));
async function case4() {
  console.log(`\n4. start-up, median of ${STARTUP_RUNS} (3 warm-up runs, interleaved)`);
  const one = join(tmp, 'start-one.csv');
  writeFileSync(one, SWITCH_HEADER + switchRow(1));
  let n = 0;
  // A fresh report path every run: an existing one is read first (to refuse overwriting a record of what was applied).
  const fresh = () => join(tmp, `start-${n++}.report.csv`);
  const cmds = {
    node: () => ['-e', '0'],
    help: () => [BIN, '--help'],
    version: () => [BIN, '--version'],
    command_help: () => [BIN, 'create-inst', '--help'],
    dry_run: () => [BIN, 'create-inst', one, '--obj', 'bk_switch', '--dry-run', '--no-schema', '--no-progress', '--report', fresh()],
    sandbox: () => [BIN, 'create-inst', one, '--obj', 'bk_switch', '--sandbox', '--no-progress', '--report', fresh()],
  };
  const wall = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  const cpu = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  for (let i = 0; i < 3 + STARTUP_RUNS; i++) {
    for (const [k, args] of Object.entries(cmds)) {
      const r = await measure(args());
      if (r.code !== 0) throw new Error(`case 4 ${k}: exit ${r.code}\n${r.stderr.slice(-2000)}`);
      if (i < 3) continue;
      wall[k].push(r.wallMs);
      if (r.cpu !== undefined) cpu[k].push(r.cpu * 1000);
    }
  }
  const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);
  const c = Object.fromEntries(Object.keys(cmds).map((k) => [k, { wall_median_ms: +median(wall[k]).toFixed(1), cpu_mean_ms: mean(cpu[k]) === undefined ? null : +mean(cpu[k]).toFixed(1) }]));
  c.runs = Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, v.map((x) => Math.round(x))]));
  results.cases.startup = c;
  const base = c.node.wall_median_ms;
  const show = (k) => `${fmt(c[k].wall_median_ms, 1)} ms (+${fmt(c[k].wall_median_ms - base, 1)}), CPU ${fmt(c[k].cpu_mean_ms, 1)} ms`;
  const ref = `node -e 0: ${fmt(base, 1)} ms, CPU ${fmt(c.node.cpu_mean_ms, 1)} ms`;
  const within = (k, ms) => (c[k].wall_median_ms <= base + ms ? 'ok' : 'ABOVE BAR');
  row('4', 'cmdb-bulk --help', show('help'), `${ref}; bar node + 40 ms`, within('help', 40));
  row('4', 'cmdb-bulk create-inst --help', show('command_help'), ref);
  row('4', 'cmdb-bulk --version', show('version'), ref);
  row('4', 'create-inst 1 row --dry-run --no-schema', show('dry_run'), `${ref}; bar node + 150 ms`, within('dry_run', 150));
  row('4', 'create-inst 1 row --sandbox', show('sandbox'), ref);
}

// ------------------------------------------------------------------ case 5
const CMDB_LABELS = ['字段名(请勿编辑)', '字段类型(请勿编辑)', '字段标识(请勿编辑)', '表格字段名(请勿编辑)', '表格字段类型(请勿编辑)', '表格字段标识(请勿编辑)'];
const XLSX_COLUMNS = [
  ['实例名(必填)', '短字符', 'bk_inst_name'], ['固资编号(必填)', '短字符', 'bk_asset_id'], ['设备SN', '短字符', 'bk_sn'],
  ['维护人', '用户', 'bk_operator'], ['端口数', '数字', 'port_count'], ['是否纳管', '布尔', 'is_managed'],
  ['厂商', '枚举', 'vendor'], ['采购日期', '日期', 'bought_on'],
];
const VENDOR_NAMES = { cisco: 'Cisco', huawei: '华为', h3c: '华三' };

/** The rows of switchRow() as a workbook: CMDB's layout (inline strings, as a streaming export) or Excel-saved (shared strings). */
async function writeXlsx(path, n, layout) {
  const { WorkbookWriter } = await import('@cj-tech-master/excelts');
  const wb = new WorkbookWriter({ filename: path, useSharedStrings: layout === 'excel', useStyles: true });
  const ws = wb.addWorksheet('bk_switch');
  if (layout === 'cmdb') {
    ws.addRow([CMDB_LABELS[0], ...XLSX_COLUMNS.map((c) => c[0])]).commit();
    ws.addRow([CMDB_LABELS[1], ...XLSX_COLUMNS.map((c) => c[1])]).commit();
    ws.addRow([CMDB_LABELS[2], ...XLSX_COLUMNS.map((c) => c[2])]).commit();
    for (const l of CMDB_LABELS.slice(3)) ws.addRow([l]).commit();
  } else {
    ws.addRow(XLSX_COLUMNS.map((c) => c[2])).commit();
  }
  const pad = layout === 'cmdb' ? [null] : [];
  for (let i = 1; i <= n; i++) {
    const [name, asset, sn, op, ports, managed, vendor, bought] = switchRow(i).trim().split(',');
    const [y, m, d] = bought.split('-').map(Number);
    const row = ws.addRow([...pad, name, asset, sn, layout === 'cmdb' ? `${op}(管理员)` : op, Number(ports), managed === 'true', layout === 'cmdb' ? VENDOR_NAMES[vendor] : vendor, new Date(Date.UTC(y, m - 1, d))]);
    row.getCell(pad.length + 8).numFmt = 'yyyy-mm-dd';
    row.commit();
  }
  await ws.commit();
  await wb.commit();
}

async function case5() {
  console.log(`\n5. reading .xlsx next to CSV: create-inst --dry-run with the model's schema (median of ${XLSX_RUNS} run(s))`);
  const sim = await startSimulator({ world: 'empty-extra' });
  const bareCode = `
    import { WorkbookReader } from '@cj-tech-master/excelts';
    let n = 0;
    const r = new WorkbookReader(process.argv[1], { sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'cache', worksheets: 'emit' });
    for await (const ws of r) for await (const row of ws) n++;
    if (n < 2) throw new Error('bare read: ' + n + ' rows');
  `;
  // The tool's own reader alone, one pass, with the run's heap policy: what reading a workbook costs, apart from
  // checking the rows (which CSV pays as well).
  const readerCode = `
    const { openInput } = await import(${JSON.stringify(join(ROOT, 'dist/input/index.js'))});
    const { boundHeapGrowth } = await import(${JSON.stringify(join(ROOT, 'dist/pipeline/heap.js'))});
    boundHeapGrowth();
    const src = await openInput({ file: process.argv[1], obj: 'bk_switch' });
    let n = 0;
    for await (const b of src.batches()) n += b.length;
    await src.close();
    if (n < 2) throw new Error('reader: ' + n + ' rows');
  `;
  const c = {};
  try {
    for (const n of XLSX_ROWS) {
      const dir = XLSX_FILES ?? tmp;
      mkdirSync(dir, { recursive: true });
      const files = { csv: join(dir, `x-${n}.csv`), cmdb: join(dir, `x-${n}-cmdb.xlsx`), excel: join(dir, `x-${n}-excel.xlsx`) };
      // A report path of its own for every run: a dry run writes a plan next to its report, and a plan left by the run
      // before would be read first (a cost of that run's leftovers, not of reading the input).
      let runNo = 0;
      const dry = (file) => ['create-inst', file, '--obj', 'bk_switch', '--dry-run', '--no-progress', '--quiet', '--json', '--report', join(tmp, `x-${n}-${runNo++}.report.csv`)];
      const all = {
        csv: () => cli(dry(files.csv), { env: cmdbEnv(sim) }),
        xlsx_cmdb: () => cli(dry(files.cmdb), { env: cmdbEnv(sim) }),
        xlsx_excel: () => cli(dry(files.excel), { env: cmdbEnv(sim) }),
        // The same run with the heap capped: what the process really keeps (V8 grows the heap lazily otherwise).
        xlsx_excel_heap_256: () => cli(dry(files.excel), { env: { ...cmdbEnv(sim), NODE_OPTIONS: '--max-old-space-size=256' } }),
        // The same run with V8's young generation kept at its first size (1 MB semi-spaces instead of growing to 16):
        // what src/pipeline/heap.ts could set at run time too (V8 reads the factor at each growth).
        xlsx_excel_young_fixed: () => measure(['--semi-space-growth-factor=1', BIN, ...dry(files.excel)], { env: cmdbEnv(sim) }),
        reader_cmdb: () => measure(['--input-type=module', '-e', readerCode, files.cmdb]),
        reader_excel: () => measure(['--input-type=module', '-e', readerCode, files.excel]),
        bare_reader: () => measure(['--input-type=module', '-e', bareCode, files.excel]),
      };
      const picked = (k) => (XLSX_VARIANTS ? XLSX_VARIANTS.includes(k) : k !== 'xlsx_excel_young_fixed'); // that one on request
      const variants = Object.fromEntries(Object.entries(all).filter(([k]) => picked(k)));
      const reads = (v) => (v === 'csv' ? 'csv' : v.endsWith('cmdb') ? 'cmdb' : 'excel');
      const uses = (f) => Object.keys(variants).some((v) => reads(v) === f);
      if (uses('csv') && !existsSync(files.csv)) await writeLines(files.csv, SWITCH_HEADER, n, switchRow);
      if (uses('cmdb') && !existsSync(files.cmdb)) await writeXlsx(files.cmdb, n, 'cmdb');
      if (uses('excel') && !existsSync(files.excel)) await writeXlsx(files.excel, n, 'excel');
      const runs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
      for (let i = 0; i < XLSX_RUNS; i++) {
        for (const [k, run] of Object.entries(variants)) {
          const r = await run();
          if (r.code !== 0) {
            runs[k].push({ failed: `exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}` });
            continue;
          }
          if (k.startsWith('xlsx') || k === 'csv') {
            const s = summaryOf(r);
            if (s.total !== n || s.invalid !== 0) throw new Error(`case 5 ${k} ${n}: ${s.total} rows, ${s.invalid} invalid: ${JSON.stringify(s.groups)}`);
          }
          runs[k].push(r);
        }
      }
      const fig = (k) => {
        const ok = runs[k].filter((r) => !r.failed);
        if (ok.length === 0) return { failed: runs[k][0]?.failed };
        const wall = median(ok.map((r) => r.wallMs));
        const cpu = median(ok.map((r) => r.cpu));
        return {
          wall_ms: Math.round(wall),
          rows_per_s: Math.round(n / (wall / 1000)),
          cpu_s: +cpu.toFixed(2),
          rows_per_cpu_s: Math.round(n / cpu),
          peak_rss_mb: +(median(ok.map((r) => r.rssKb)) / 1024).toFixed(1),
          runs_wall_ms: ok.map((r) => Math.round(r.wallMs)),
        };
      };
      const sizes = Object.fromEntries(Object.entries(files).filter(([, f]) => existsSync(f)).map(([k, f]) => [k, +(readFileSync(f).length / 2 ** 20).toFixed(1)]));
      const cn = { rows: n, file_mb: sizes, ...Object.fromEntries(Object.keys(variants).map((k) => [k, fig(k)])) };
      c[n] = cn;
      const label = `${fmt(n)} rows`;
      const show = (f) => (f.failed ? `failed (${f.failed})` : `${fmt(f.rows_per_s)} rows/s (${fmt(f.rows_per_cpu_s)} per CPU-s), ${fmt(f.cpu_s, 1)} CPU-s, ${fmt(f.peak_rss_mb, 1)} MB`);
      if (cn.csv) row('5', `${label}: CSV (${sizes.csv} MB)`, show(cn.csv), 'the reference');
      for (const [k, what] of [['xlsx_cmdb', `CMDB layout (${sizes.cmdb} MB)`], ['xlsx_excel', `Excel-saved (${sizes.excel} MB)`]]) {
        const f = cn[k];
        if (!f) continue;
        // A dry run reads the file once (check and plan in one pass: decisions.md, "A dry run reads its input once");
        // a real run's second pass is the one that feeds the sender, on its own core while the network waits: one
        // pass per CPU-second against what can be sent.
        const perPass = f.rows_per_cpu_s;
        const ratio = f.rows_per_s && cn.csv?.rows_per_s ? (f.rows_per_s / cn.csv.rows_per_s).toFixed(2) : '—';
        const verdict = f.failed ? 'FAILED' : `${perPass >= 20_000 ? 'ok' : 'BELOW'}, ${f.peak_rss_mb <= 150 ? 'ok' : 'ABOVE 150 MB'}`;
        row('5', `${label}: ${what}`, show(f), `CSV ×${ratio}; one pass ${fmt(perPass)} rows per CPU-s vs 20,000/s to send; bar 150 MB`, verdict);
      }
      if (cn.xlsx_excel_heap_256) row('5', `${label}: Excel-saved, heap capped at 256 MB`, show(cn.xlsx_excel_heap_256), 'what the process keeps');
      if (cn.xlsx_excel_young_fixed) row('5', `${label}: Excel-saved, young generation not grown`, show(cn.xlsx_excel_young_fixed), 'node --semi-space-growth-factor=1; bar 150 MB', cn.xlsx_excel_young_fixed.peak_rss_mb <= 150 ? 'ok' : 'ABOVE 150 MB');
      if (cn.reader_cmdb) row('5', `${label}: the tool's reader alone, CMDB layout`, show(cn.reader_cmdb), 'one pass, no checks; bar 150 MB', cn.reader_cmdb.peak_rss_mb <= 150 ? 'ok' : 'ABOVE 150 MB');
      if (cn.reader_excel) row('5', `${label}: the tool's reader alone, Excel-saved`, show(cn.reader_excel), 'one pass, no checks; bar 150 MB', cn.reader_excel.peak_rss_mb <= 150 ? 'ok' : 'ABOVE 150 MB');
      if (cn.bare_reader) row('5', `${label}: bare WorkbookReader loop, Excel-saved`, show(cn.bare_reader), 'the library alone, one pass');
      if (!XLSX_FILES) for (const f of Object.values(files)) rmSync(f, { force: true });
    }
  } finally {
    await sim.close();
  }
  results.cases.xlsx = c;
}

// ------------------------------------------------------------------ case 6
async function case6() {
  const N = SYNC_ROWS;
  const changed = Math.round(N / 100);
  console.log(`\n6. sync of ${fmt(N)} rows, ${fmt(changed)} changed (1%), apigw with 20 ms latency and its 100 requests/s`);
  const file = join(tmp, 'sync.csv');
  // Every 100th row differs from the server in port_count; the rest are equal.
  await writeLines(file, SWITCH_HEADER, N, (i) => (i % 100 === 0 ? switchRow(i).replace(/,admin,\d+,/, ',admin,7,') : switchRow(i)));
  const sim = await startSimulator({ world: 'empty-extra' });
  const env = { CMDB_URL: sim.urls.apigw, CMDB_GATEWAY: 'apigw', BK_APP_CODE: sim.credentials.bkAppCode, BK_APP_SECRET: sim.credentials.bkAppSecret, BK_USERNAME: 'admin' };
  const seed = () => {
    sim.reset();
    for (let i = 1; i <= N; i++) {
      const [bk_inst_name, bk_asset_id, bk_sn, bk_operator, port, managed, vendor, bought_on] = switchRow(i).trim().split(',');
      sim.store.insert('bk_switch', { bk_inst_name, bk_asset_id, bk_sn, bk_operator, port_count: Number(port), is_managed: managed === 'true', vendor, bought_on });
    }
    sim.setFaults({ latencyMs: 20 });
  };
  const out = {};
  try {
    const runs = [
      ['plan', ['sync', file, '--obj', 'bk_switch', '--key', 'bk_asset_id', '--plan-only', '--plan', join(tmp, 'sync.plan.ndjson')]],
      ['sync', ['sync', file, '--obj', 'bk_switch', '--key', 'bk_asset_id']],
      ['update_all', ['update-inst', file, '--obj', 'bk_switch', '--key', 'bk_asset_id']],
    ];
    for (const [name, args] of runs) {
      seed();
      const r = await cli([...args, '--no-progress', '--quiet', '--json', '--report', join(tmp, `sync-${name}.report.csv`)], { env });
      expectOk(r, `case 5 ${name}`);
      const s = summaryOf(r);
      const writes = sim.counters().writeRequests;
      const sec = r.wallMs / 1000;
      out[name] = {
        wall_ms: Math.round(r.wallMs),
        rows_per_s: Math.round(N / sec),
        requests: s.requests,
        write_requests: writes,
        requests_per_1000_rows: +((s.requests * 1000) / N).toFixed(2),
        cli_cpu_s: +r.cpu.toFixed(2),
        peak_rss_mb: +(r.rssKb / 1024).toFixed(1),
        http_429: sim.counters().http429,
        plan: s.plan ?? null,
      };
      if (name === 'sync' && (s.ok !== changed || s.unchanged !== N - changed)) throw new Error(`case 5 sync: ${s.ok} ok, ${s.unchanged} unchanged`);
    }
    const p = out.plan, s = out.sync, u = out.update_all;
    row('6', `sync --plan-only, ${fmt(N)} rows`, `${fmt(p.rows_per_s)} rows/s planned, ${fmt(p.requests)} requests (${p.requests_per_1000_rows} / 1,000 rows)`, `CLI ${fmt(p.cli_cpu_s, 1)} CPU-s in ${fmt(p.wall_ms / 1000, 1)} s`);
    row('6', `sync, 1% changed`, `${fmt(s.wall_ms / 1000, 1)} s, ${fmt(s.requests)} requests (${s.write_requests} writes), ${s.requests_per_1000_rows} / 1,000 rows`, `bar: well under 60 s; CLI ${fmt(s.cli_cpu_s, 1)} CPU-s; ${s.http_429} × 429`, s.wall_ms < 60_000 ? 'ok' : 'ABOVE');
    row('6', 'update-inst --key of every row', `${fmt(u.wall_ms / 1000, 1)} s, ${fmt(u.requests)} requests (${u.write_requests} writes), ${u.requests_per_1000_rows} / 1,000 rows`, `sync is ×${(u.wall_ms / s.wall_ms).toFixed(1)} faster, ${fmt(u.write_requests / Math.max(1, s.write_requests), 0)}× fewer writes`);
  } finally {
    await sim.close();
  }
  results.cases.sync = { rows: N, changed, latency_ms: 20, gateway: 'apigw 100/s', runs: out };
}

// ------------------------------------------------------------------ case 7
/** POSTs one ESB operation to the simulator (credentials in the body); the parsed answer. */
async function esbCall(sim, op, body) {
  const creds = { bk_app_code: sim.credentials.bkAppCode, bk_app_secret: sim.credentials.bkAppSecret, bk_username: 'admin' };
  const res = await fetch(`${sim.urls.esb}/api/c/compapi/v2/cc/${op}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...creds, ...body }) });
  const json = await res.json();
  if (!json.result) throw new Error(`case 7 ${op}: ${json.message}`);
  return json.data;
}

async function case7() {
  const n = Number(opt('sim-rows', 200_000));
  const requests = n / 200;
  console.log(`\n7. the simulator alone: ${fmt(n)} creates, then ${fmt(n)} updates, 200 a request, one at a time`);
  // Its cost per request must not grow with the store: the first and the last tenth of the requests are timed
  // apart (a quadratic operation shows as a last tenth many times slower than the first).
  const sim = await startSimulator({ world: 'empty-extra' });
  const c = {};
  try {
    const ids = [];
    for (const op of ['batch_create_inst', 'batch_update_inst']) {
      const tenth = Math.max(1, Math.floor(requests / 10));
      const times = [];
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let q = 0; q < requests; q++) {
        const at = performance.now();
        if (op === 'batch_create_inst') {
          const details = Array.from({ length: 200 }, (_, i) => ({ bk_inst_name: `sw-${q * 200 + i}`, bk_asset_id: `A-${q * 200 + i}` }));
          ids.push(...Object.values((await esbCall(sim, op, { bk_obj_id: 'bk_switch', details })).success_created));
        } else {
          const update = ids.slice(q * 200, q * 200 + 200).map((id, i) => ({ inst_id: id, datas: { bk_asset_id: `B-${q * 200 + i}` } }));
          await esbCall(sim, op, { bk_obj_id: 'bk_switch', update });
        }
        times.push(performance.now() - at);
      }
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = avg(times.slice(0, tenth));
      const last = avg(times.slice(-tenth));
      c[op] = { requests, wall_s: +(wall / 1000).toFixed(2), cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(2), first_tenth_ms: +first.toFixed(2), last_tenth_ms: +last.toFixed(2) };
      // Updates run against a store of constant size: flat whatever they cost, so they are held to the creates' pace.
      const create = c.batch_create_inst;
      const flat = op === 'batch_create_inst' ? last < first * 3 : c[op].cpu_s < create.cpu_s * 3;
      row('7', `${op} × ${fmt(requests)} (${fmt(n)} rows)`, `${fmt(wall / 1000, 1)} s wall, ${fmt(c[op].cpu_s, 1)} s CPU`,
        `ms a request, first tenth → last tenth: ${fmt(first, 1)} → ${fmt(last, 1)}${op === 'batch_create_inst' ? '' : '; bar: CPU < 3 × the creates\''}`, flat ? 'ok' : 'GROWS WITH THE STORE');
    }
    if (sim.store.instanceMap('bk_switch').size !== n) throw new Error('case 7: instances lost');
  } finally {
    await sim.close();
  }
  results.cases.simulator = c;
}

// ------------------------------------------------------------------ case 8
/** The ESB answers export needs for bk_switch, made up from the id cursor: instances 1..n, nothing stored. */
function pagingServer(n, attributes) {
  const row = (id) => ({
    bk_inst_id: id, bk_obj_id: 'bk_switch', bk_inst_name: `switch-${id}`, bk_asset_id: `SW-${String(id).padStart(7, '0')}`, bk_sn: `SN${100000000 + id}`,
    bk_operator: 'admin', port_count: (id % 1024) + 1, is_managed: id % 2 === 1, vendor: VENDORS[id % 3], bought_on: '2023-03-01', remark: null, tags: ['access'],
    create_time: '2023-03-01T10:00:00+08:00', last_time: '2023-03-01T10:00:00+08:00',
  });
  const answer = (op, body) => {
    if (op === 'search_object_attribute') return attributes;
    if (op === 'count_object_instances') return { count: n };
    if (op === 'search_object_instances') {
      const after = body.conditions.rules.find((r) => r.field === 'bk_inst_id' && r.operator === 'greater').value;
      const info = [];
      for (let id = after + 1; id <= Math.min(n, after + body.page.limit); id++) info.push(row(id));
      return { info };
    }
    throw new Error(`unexpected ${op}`);
  };
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const op = req.url.split('/').filter(Boolean).pop();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ result: true, code: 0, message: 'success', permission: null, request_id: 'bench', data: answer(op, JSON.parse(text)) }));
    });
  });
  return new Promise((res) => server.listen(0, '127.0.0.1', () => res(server)));
}

async function case8() {
  console.log(`\n8. export of ${fmt(ROWS)} instances (paged by id, 500 a request)`);
  const { SimStore } = await import(join(ROOT, 'dist/sim/index.js'));
  const attributes = new SimStore('empty-extra').models.get('bk_switch').attributes;
  const server = await pagingServer(ROWS, attributes);
  const c = { rows: ROWS, runs: [] };
  try {
    const env = { CMDB_URL: `http://127.0.0.1:${server.address().port}`, CMDB_GATEWAY: 'esb', BK_APP_CODE: 'bench', BK_APP_SECRET: 'bench', BK_USERNAME: 'admin' };
    for (const [format, nodeOptions] of [['csv', ''], ['ndjson', ''], ['csv', '--max-old-space-size=512']].filter(([f, n]) => !C8_BIG || C8_BIG.includes(n ? `${f}-capped` : f))) {
      const out = join(tmp, `export-1m.${format}`);
      const r = await cli(['export', '--obj', 'bk_switch', '--out', out, '--no-progress', '--json'], { env: { ...env, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
      expectOk(r, `case 8 ${format}`);
      const s = summaryOf(r);
      if (s.total !== ROWS) throw new Error(`case 8 ${format}: ${s.total} rows exported`);
      const f = { format, source: 'paging server', node_options: nodeOptions || null, wall_ms: Math.round(r.wallMs), rows_per_s: Math.round(ROWS / (r.wallMs / 1000)), requests: s.requests, cpu_s: +r.cpu.toFixed(2), peak_rss_mb: +(r.rssKb / 1024).toFixed(1) };
      c.runs.push(f);
      rmSync(out, { force: true });
      row('8', `export ${fmt(ROWS)} rows to ${format}${nodeOptions ? `, NODE_OPTIONS=${nodeOptions}` : ''}`, `${fmt(f.peak_rss_mb, 1)} MB peak RSS, ${fmt(f.rows_per_s)} rows/s, CLI ${fmt(f.cpu_s, 1)} CPU-s`, `${fmt(f.requests)} requests; bar ≤ 150 MB`, f.peak_rss_mb <= 150 ? 'ok' : 'ABOVE');
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
  if (C8_BIG) return; // --c8-big: only the million-row exports
  // The same through the simulator (its own request checks, both doors), at a size it pages in reasonable time.
  const n = Math.min(ROWS, 100_000);
  const sim = await startSimulator({ world: 'empty-extra', apigwWindows: false });
  try {
    const store = sim.store.instanceMap('bk_switch');
    for (let i = 1; i <= n; i++) sim.store.insert('bk_switch', { bk_inst_name: `switch-${i}`, bk_asset_id: `SW-${i}`, port_count: (i % 1024) + 1, is_managed: i % 2 === 1, vendor: VENDORS[i % 3], tags: ['access'] });
    for (const gateway of ['esb', 'apigw']) {
      const out = join(tmp, `export-sim-${gateway}.csv`);
      const env = { ...cmdbEnv(sim), CMDB_URL: gateway === 'apigw' ? sim.urls.apigw : sim.urls.esb, CMDB_GATEWAY: gateway };
      const r = await cli(['export', '--obj', 'bk_switch', '--out', out, '--no-progress', '--json', '--rate', 'off'], { env });
      expectOk(r, `case 8 simulator ${gateway}`);
      const s = summaryOf(r);
      if (s.total !== store.size) throw new Error(`case 8 simulator: ${s.total} of ${store.size}`);
      const f = { format: 'csv', source: `simulator ${gateway}`, rows: n, wall_ms: Math.round(r.wallMs), rows_per_s: Math.round(n / (r.wallMs / 1000)), requests: s.requests, cpu_s: +r.cpu.toFixed(2), peak_rss_mb: +(r.rssKb / 1024).toFixed(1) };
      c.runs.push(f);
      rmSync(out, { force: true });
      row('8', `export ${fmt(n)} rows from the simulator (${gateway})`, `${fmt(f.rows_per_s)} rows/s, ${fmt(f.peak_rss_mb, 1)} MB peak RSS`, 'the simulator filters and sorts its store for each page');
    }
  } finally {
    await sim.close();
  }
  results.cases.export = c;
}

// ------------------------------------------------------------------ main
try {
  console.log(`cmdb-bulk benchmark — ${results.machine.nproc} × ${results.machine.cpu}, ${results.machine.memory_gb} GB, Node ${results.machine.node}, load ${results.machine.loadavg_start.join(' ')}`);
  console.log(`peak RSS and CPU time by ${GNU_TIME ? '/usr/bin/time' : 'a preload reading process.resourceUsage()'}`);
  if (ONLY.has(4)) await case4();
  if (ONLY.has(1)) await case1();
  if (ONLY.has(2)) await case2();
  if (ONLY.has(3)) await case3();
  if (ONLY.has(5)) await case5();
  if (ONLY.has(6)) await case6();
  if (ONLY.has(7)) await case7();
  if (ONLY.has(8)) await case8();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
results.machine.loadavg_end = os.loadavg().map((x) => +x.toFixed(2));
results.finished = new Date().toISOString();
results.table = table.map(([c, figure, value, reference, verdict]) => ({ case: c, figure, value, reference, verdict }));
mkdirSync(OUT_DIR, { recursive: true });
writeFileSync(join(OUT_DIR, 'bench.json'), JSON.stringify(results, null, 2) + '\n');

const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...[['case', 'figure', 'value', 'reference', ''][i], ...table.map((r) => r[i])].map((s) => s.length)));
const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join(' │ ').trimEnd();
console.log(`\n${line(['case', 'figure', 'value', 'reference', ''])}\n${widths.map((w) => '─'.repeat(w)).join('─┼─')}`);
for (const r of table) console.log(line(r));
console.log(`\nload average at the end: ${results.machine.loadavg_end.join(' ')} (2 noisy cores: a busy minute lowers every figure)`);
console.log(`written: ${join(OUT_DIR, 'bench.json')}`);
