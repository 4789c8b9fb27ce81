/**
 * Performance properties that are not speeds (no test here depends on how fast the machine is; `npm run bench`
 * measures the speeds): what --help loads, that a wide run stays quiet, that a big run keeps nothing per row.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { sheetXml, workbookZip } from '../support/zip.js';
import { BIN, cleanEnv, cmdbEnv, readReport, ROOT, runCli, tempDir, withSim } from './helpers.js';

let t: ReturnType<typeof tempDir>;
let sim: Simulator;
beforeAll(async () => {
  t = tempDir();
  sim = await withSim({ world: 'empty-extra' });
});
afterAll(async () => {
  await sim.close();
  t.cleanup();
});

/** The files (outside Node itself) a CLI run loads, through a module loader hook; `entry` is the bin or the program. */
function loadedFiles(args: string[], entry = BIN): string[] {
  const hooks = t.file('hooks.mjs', `export async function load(url, context, next) {
  if (url.startsWith('file:')) process.stderr.write('LOADED ' + url + '\\n');
  return next(url, context);
}
`);
  const register = t.file('register.mjs', `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + hooks)});\n`);
  const r = spawnSync(process.execPath, ['--import', register, entry, ...args], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('LOADED '))
    .map((l) => decodeURIComponent(l.slice('LOADED file://'.length)).replace(ROOT + '/', ''));
}

describe('fast start', () => {
  for (const args of [['--help'], ['--version'], ['create-inst', '--help'], ['config', 'check', '-h']]) {
    it(`cmdb-bulk ${args.join(' ')} loads nothing but the bin (it prints the build's record, src/cli/fast-start.ts)`, () => {
      expect(loadedFiles(args)).toEqual(['bin/cmdb-bulk.js']);
    });
  }

  // At a terminal width other than the record's, the program makes the help (the same text, test/e2e/fast-start.test.ts).
  for (const args of [['--help'], ['create-inst', '--help']]) {
    it(`the program's own ${args.join(' ')} loads only the program, the command manifests and commander`, () => {
      const files = loadedFiles(args, join(ROOT, 'dist/cli/main.js'));
      expect(files).toEqual(expect.arrayContaining(['dist/cli/main.js', 'dist/cli/manifests/index.js', 'dist/cli/manifests/operations.js']));
      const program = ['dist/cli/main.js', 'dist/cli/flags.js', 'dist/core/errors.js', 'dist/core/formats.js'];
      const others = files.filter((f) => !program.includes(f) && !f.startsWith('dist/cli/manifests/') && !f.includes('node_modules/commander/'));
      expect(others).toEqual([]);
    });
  }

  it('a data command does load its modules (the check above can fail)', () => {
    const file = t.file('one.csv', 'bk_inst_name,bk_asset_id\nsw,SW-1\n');
    const files = loadedFiles(['create-inst', file, '--obj', 'bk_switch', '--dry-run', '--no-schema', '--quiet', '--no-progress', '--report', join(t.dir, 'one.report.csv')]);
    expect(files).toEqual(expect.arrayContaining(['dist/pipeline/run.js', 'dist/input/csv.js', 'dist/report/writer.js']));
  });
});

/** The packages (node_modules/<name>) and the tool's own modules (dist/...) a run loaded, the hooks' trace and require's. */
interface Loaded {
  code: number | null;
  packages: string[];
  own: string[];
  /** Files of packages, as node_modules/<name>/<path>. */
  packageFiles: string[];
}

const TRACE = pathToFileURL(join(ROOT, 'test/support/module-trace.mjs')).href;
const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;

/** Runs the built CLI with the module trace; `tty` runs it in a pseudo-terminal (util-linux `script`). */
function traced(args: string[], o: { env?: Record<string, string>; tty?: boolean } = {}): Loaded {
  const trace = join(t.dir, 'modules.txt');
  rmSync(trace, { force: true });
  const env = { ...cleanEnv(o.env), MODULE_TRACE: trace, NODE_OPTIONS: `--import ${TRACE}` };
  const q = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;
  const r = o.tty
    ? spawnSync('script', ['-qfec', [process.execPath, BIN, ...args].map(q).join(' '), '/dev/null'], { cwd: ROOT, env: { ...env, TERM: 'xterm-256color' }, encoding: 'utf8' })
    : spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8' });
  const urls = existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').filter((l) => l.startsWith('file:')) : [];
  const packages = new Set<string>();
  const own = new Set<string>();
  const packageFiles = new Set<string>();
  for (const u of urls) {
    const path = decodeURIComponent(u.slice('file://'.length));
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (pkg) packages.add(pkg[1]!);
    if (pkg) packageFiles.add(path.slice(path.lastIndexOf('/node_modules/') + 1));
    else if (path.startsWith(ROOT + '/dist/')) own.add(path.slice(ROOT.length + 1));
  }
  return { code: r.status, packages: [...packages].sort(), own: [...own].sort(), packageFiles: [...packageFiles].sort() };
}

const HEAVY = ['undici', 'zod', 'csv-parse', 'cli-progress', '@cj-tech-master/excelts'];

describe('a small job loads only what it uses (issue 16 §3)', () => {
  const one = () => t.file('small.csv', 'bk_inst_name,bk_asset_id\nsw,SMALL-1\n');
  let n = 0;
  const fresh = () => join(t.dir, `small-${n++}.report.csv`);

  it('a 1-row --no-schema dry run loads one package, commander: no colour library, HTTP stack, schema library, report reader, bar, workbook library or simulator', () => {
    const r = traced(['create-inst', one(), '--obj', 'bk_switch', '--dry-run', '--no-schema', '--report', fresh()]);
    expect(r.code).toBe(0);
    expect(r.packages).toEqual(['commander']);
    expect(r.own).toEqual(expect.arrayContaining(['dist/pipeline/run.js', 'dist/input/csv.js', 'dist/report/writer.js', 'dist/schema/fields.js']));
    expect(r.own.filter((f) => /^dist\/(sim|config)\/|^dist\/cli\/connect\.js|^dist\/http\/(cmdb|feishu)\.js/.test(f))).toEqual([]);
  });

  it('a 1-row --sandbox create loads the HTTP stack, the answer schemas and the simulator, and nothing else heavy', () => {
    const r = traced(['create-inst', one(), '--obj', 'bk_switch', '--sandbox', '--no-progress', '--report', fresh()]);
    expect(r.code).toBe(0);
    expect(r.packages).toEqual(['commander', 'undici', 'zod']);
    expect(r.own).toEqual(expect.arrayContaining(['dist/sim/index.js', 'dist/cli/connect.js', 'dist/http/cmdb.js']));
  });

  it("a run that talks to a server loads undici's Pool and request API, not the whole package (src/http/undici-parts.ts), and zod's v3 API", () => {
    const r = traced(['create-inst', one(), '--obj', 'bk_switch', '--sandbox', '--no-progress', '--report', fresh()]);
    expect(r.code).toBe(0);
    const undici = r.packageFiles.filter((f) => f.startsWith('node_modules/undici/'));
    expect(undici).toEqual(expect.arrayContaining(['node_modules/undici/lib/dispatcher/pool.js', 'node_modules/undici/lib/api/api-request.js']));
    expect(undici.filter((f) => f === 'node_modules/undici/index.js' || /\/lib\/(web|mock|cache)\//.test(f))).toEqual([]);
    // The answers' schemas use zod's v3 API (src/http/zod.ts): ~30 ms to load, where zod 4's took ~105 ms.
    const zod = r.packageFiles.filter((f) => f.startsWith('node_modules/zod/'));
    expect(zod.some((f) => f.startsWith('node_modules/zod/v3/'))).toBe(true);
    expect(zod.filter((f) => f.startsWith('node_modules/zod/v4/'))).toEqual([]);
  });

  it('csv-parse loads when an earlier report is read (--resume)', () => {
    const input = one();
    const report = fresh();
    expect(traced(['create-inst', input, '--obj', 'bk_switch', '--sandbox', '--no-progress', '--report', report]).code).toBe(0);
    const r = traced(['create-inst', input, '--obj', 'bk_switch', '--sandbox', '--no-progress', '--resume', report]);
    expect(r.code).toBe(0);
    expect(r.packages).toContain('csv-parse');
  });

  it('a 1-row .xlsx dry run reads the workbook with the tool\'s own reader: no package beyond commander (the workbook library only writes)', () => {
    const xml = (cells: string[], row: number) => `<row r="${row}">${cells.map((v, i) => `<c r="${String.fromCharCode(65 + i)}${row}" t="inlineStr"><is><t>${v}</t></is></c>`).join('')}</row>`;
    const file = join(t.dir, 'small.xlsx');
    writeFileSync(file, workbookZip({ sheets: [{ name: 'bk_switch', xml: sheetXml(xml(['bk_inst_name', 'bk_asset_id'], 1) + xml(['sw', 'SMALL-X'], 2)) }] }));
    const r = traced(['create-inst', file, '--obj', 'bk_switch', '--dry-run', '--no-schema', '--report', fresh()]);
    expect(r.code).toBe(0);
    expect(r.packages).toEqual(['commander']);
    expect(r.own).toEqual(expect.arrayContaining(['dist/input/xlsx.js', 'dist/input/zip.js', 'dist/input/xlsx-sheet.js']));
  });

  it.skipIf(!HAVE_SCRIPT)('cli-progress loads when a bar is drawn (a terminal), not with --no-progress there', () => {
    const bar = traced(['create-inst', one(), '--obj', 'bk_switch', '--dry-run', '--no-schema', '--report', fresh()], { tty: true });
    expect(bar.code).toBe(0);
    expect(bar.packages).toContain('cli-progress');
    const none = traced(['create-inst', one(), '--obj', 'bk_switch', '--dry-run', '--no-schema', '--no-progress', '--report', fresh()], { tty: true });
    expect(none.code).toBe(0);
    expect(none.packages).not.toContain('cli-progress');
    expect(none.packages.filter((p) => HEAVY.includes(p))).toEqual([]);
  });
});

describe('wide and long runs', () => {
  it('--concurrency 16 sends without Node warnings (abort listeners are allowed for what is in flight)', async () => {
    let csv = 'bk_inst_name,bk_asset_id,port_count\n';
    for (let i = 1; i <= 6000; i++) csv += `sw-${i},PERF-${i},${(i % 1024) + 1}\n`;
    const file = t.file('wide.csv', csv);
    const report = join(t.dir, 'wide.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--concurrency', '16', '--batch-size', '50', '--no-progress', '--report', report], { env: cmdbEnv(sim, 'esb') });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/Warning|MaxListeners/);
    expect(sim.store.instanceMap('bk_switch').size).toBe(6000);
    const rows = readReport(report);
    expect(rows.map((x) => x.row)).toEqual(Array.from({ length: 6000 }, (_, i) => i + 1));
    expect(rows.every((x) => x.status === 'ok')).toBe(true);
  });

  it('a 200,000-row dry run writes every row in order and stays within a memory budget that per-row state would break', async () => {
    const n = 200_000;
    let csv = 'bk_inst_name,bk_asset_id,bk_sn,bk_operator,port_count:int,is_managed:bool,vendor,bought_on:date\n';
    for (let i = 1; i <= n; i++) csv += `switch-${i},SW-${i},SN${i},admin,${(i % 1024) + 1},${i % 2 ? 'true' : 'false'},cisco,2023-01-${String(1 + (i % 28)).padStart(2, '0')}\n`;
    const file = t.file('big.csv', csv);
    const report = join(t.dir, 'big.report.csv');
    // Peak RSS from inside the CLI process, written at exit.
    const usage = join(t.dir, 'usage.json');
    const preload = t.file('rss.mjs', `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(usage)}, JSON.stringify({ rssKb: process.resourceUsage().maxRSS })));\n`);
    const r = spawnSync(process.execPath, ['--import', preload, BIN, 'create-inst', file, '--obj', 'bk_switch', '--dry-run', '--no-schema', '--quiet', '--no-progress', '--report', report], { cwd: ROOT, env: cleanEnv(), encoding: 'utf8' });
    expect(r.status).toBe(0);
    // A dry run writes its plan beside the --report path (big.plan.csv), never the report.
    const rows = readReport(join(t.dir, 'big.plan.csv'));
    expect(rows).toHaveLength(n);
    expect(rows[n - 1]).toMatchObject({ row: n, status: 'unsent', detail: 'dry run', bk_asset_id: `SW-${n}`, port_count: String((n % 1024) + 1) });
    // The file is ~14 MB and its report ~20 MB; rows kept across the passes would take well over 100 MB more.
    const { rssKb } = JSON.parse((await import('node:fs')).readFileSync(usage, 'utf8')) as { rssKb: number };
    expect(rssKb / 1024).toBeLessThan(200);
    writeFileSync(file, ''); // free the disk early
  });
});
