/**
 * Fronts that misbehave: the built CLI against the simulator behind a hostile front door (test/support/
 * hostile-front.ts), or at a wrong address. Each test asserts the exit code, what the user is told, how many
 * requests were made (no retries, no look-ups where nothing can be learnt), the report (nothing `ok` that was not
 * applied) and the simulator's store. docs/reliability.md maps each case to its test here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Simulator } from '../../src/sim/index.js';
import { startHostileFront, type HostileFront } from '../support/hostile-front.js';
import { cmdbEnv, csv, expectRowsOnce, feishuEnv, readReport, runCli, tempDir, withSim } from './helpers.js';

let sim: Simulator;
let front: HostileFront;
const tmp = tempDir();

beforeAll(async () => {
  sim = await withSim({ apigwWindows: false, feishuWindows: false });
  front = await startHostileFront(sim);
});
afterAll(async () => {
  await front.close();
  await sim.close();
  tmp.cleanup();
});
afterEach(() => {
  sim.reset();
  front.set({ kind: 'pass' });
});

const QUICK = ['--retry-delay', '5', '--retries', '3', '--no-progress', '--json'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** n switches with unique asset ids; `wide` pads bk_sn to make big request bodies. */
function switches(name: string, n: number, wide = 0): { file: string; assets: string[] } {
  const assets = range(n).map((i) => `${name}-${i}`);
  const pad = 'x'.repeat(wide);
  return { file: tmp.file(`${name}.csv`, csv(['bk_inst_name,bk_asset_id,bk_sn', ...assets.map((a) => `sw-${a},${a},SN-${a}${pad}`)])), assets };
}

const stored = (assets: string[]) => {
  const mine = new Set(assets);
  return sim.store.instances('bk_switch').filter((s) => mine.has(String(s.bk_asset_id)));
};

/** Through the front, over the ESB. */
const viaFront = (extra: Record<string, string | undefined> = {}) => cmdbEnv(sim, 'esb', { CMDB_URL: front.origin, ...extra });

/** The stop left a true report: every row once, none ok, none applied. */
function expectNothingApplied(report: string, total: number, assets: string[]) {
  const rows = readReport(report);
  expectRowsOnce(rows, total);
  expect(rows.filter((r) => r.status === 'ok')).toEqual([]);
  expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['unsent']));
  expect(stored(assets)).toEqual([]);
  expect(sim.counters().writeRequests).toBe(0);
}

describe('a login page (HTTP 200 text/html) in front of CMDB', () => {
  it.each([
    ['with the model schema (the first request is the attribute look-up)', [] as string[]],
    ['with --no-schema (the first request is a create)', ['--no-schema', '--concurrency', '1']],
  ])('%s: stops at the first answer, exit 4, names the page and what to check', async (_, flags) => {
    front.set({ kind: 'html', title: 'Login | BlueKing' });
    const { file, assets } = switches(`login${flags.length}`, 600);
    const report = join(tmp.dir, `login${flags.length}.report.csv`);
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, ...QUICK, ...flags], { env: viaFront() });
    expect(r.code, r.stderr).toBe(4);
    expect(front.seen).toHaveLength(1);
    expect(front.seen.some((s) => /search_object_instances/.test(s.path))).toBe(false);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ ok: 0, unsent: 600, retries: 0 });
    expect(summary.error).toContain('a web page titled "Login | BlueKing"');
    expect(summary.error).toMatch(/HTTP 200 \(text\/html\)/);
    expect(summary.error).toMatch(/CMDB_URL/);
    expect(summary.error).toMatch(/BK_APP_CODE/);
    expectNothingApplied(report, 600, assets);
  });

  it('apaas-update: a login page at the token endpoint stops the run, exit 4, naming FEISHU_URL', async () => {
    front.set({ kind: 'html', title: 'Feishu - Sign in' });
    const input = tmp.file('login-apaas.csv', csv(['_id,name', ...range(20).map((i) => `${i + 1},n${i}`)]));
    const report = join(tmp.dir, 'login-apaas.report.csv');
    const r = await runCli(['apaas-update', input, '--namespace', 'package_demo__c', '--object', 'device', '--report', report, ...QUICK], {
      env: feishuEnv(sim, { FEISHU_URL: front.origin }),
    });
    expect(r.code, r.stderr).toBe(4);
    expect(front.seen).toHaveLength(1);
    expect(front.seen[0]!.path).toMatch(/tenant_access_token/);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ ok: 0, unsent: 20 });
    expect(summary.error).toContain('a web page titled "Feishu - Sign in"');
    expect(summary.error).toMatch(/FEISHU_URL/);
    expect(sim.counters().writeRequests).toBe(0);
  });
});

describe('a redirect (302 to a login page) for a write', () => {
  it('is not followed: exit 4, the Location named, nothing applied', async () => {
    front.set({ kind: 'redirect', location: 'http://paas.example.com/login/?c_url=/api/c/compapi/v2/cc/batch_create_inst/' }, /batch_create_inst/);
    const { file, assets } = switches('redirect', 50);
    const report = join(tmp.dir, 'redirect.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--concurrency', '1', ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(4);
    const writes = front.seen.filter((s) => /batch_create_inst/.test(s.path));
    expect(writes).toHaveLength(1);
    expect(front.seen.some((s) => /search_object_instances/.test(s.path))).toBe(false);
    const summary = JSON.parse(r.stdout);
    expect(summary.error).toContain('redirected (HTTP 302) to http://paas.example.com/login/?c_url=');
    expect(summary.error).toMatch(/login page/);
    expectNothingApplied(report, 50, assets);
  });
});

describe("the front door's body limit (413 Request Entity Too Large)", () => {
  const refused = () => front.seen.filter((x) => !x.forwarded).length;

  it('the batch is split and the size that passed is kept for the rest of the run: every row created once, exit 0', async () => {
    // Rows of ~330 bytes against a 24 KB limit: 200 a request (~66 KB) and 100 (~33 KB) are refused, 50 pass.
    front.set({ kind: 'body-limit', maxBytes: 24 * 1024 });
    const { file, assets } = switches('limit', 600, 230);
    const report = join(tmp.dir, 'limit.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--concurrency', '1', ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(0);
    // Only the first batch meets the limit (200, then 100); every later request carries 50 rows.
    expect(refused()).toBe(2);
    const creates = front.seen.filter((x) => /batch_create_inst/.test(x.path));
    expect(creates).toHaveLength(2 + 12);
    expect(front.seen.some((x) => /search_object_instances/.test(x.path))).toBe(false);
    const rows = readReport(report);
    expectRowsOnce(rows, 600);
    expect(rows.every((x) => x.status === 'ok')).toBe(true);
    expect(stored(assets)).toHaveLength(600);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
    expect(JSON.parse(r.stdout).splits).toBeGreaterThan(0);
  });

  it('a single row too big for the limit is failed with the reason, not applied; the other rows land, exit 3', async () => {
    front.set({ kind: 'body-limit', maxBytes: 380 }, /batch_create_inst/);
    const input = tmp.file('limit-one.csv', csv(['bk_inst_name,bk_asset_id,bk_sn', ...range(10).map((i) => `sw-big-${i},BIG-${i},${i === 3 ? 'W'.repeat(250) : `SN-${i}`}`)]));
    const report = join(tmp.dir, 'limit-one.report.csv');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--report', report, ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(3);
    const rows = readReport(report);
    expectRowsOnce(rows, 10);
    expect(rows.filter((x) => x.status !== 'ok').map((x) => x.row)).toEqual([4]);
    expect(rows[3]).toMatchObject({ status: 'failed', error_code: '413' });
    expect(rows[3]!.error).toMatch(/this row alone makes a request body of \d+ bytes, more than the front door accepts \(HTTP 413/);
    expect(stored(range(10).map((i) => `BIG-${i}`)).map((x) => x.bk_asset_id).sort()).toEqual(range(10).filter((i) => i !== 3).map((i) => `BIG-${i}`));
  });
});

describe('a URL that is not CMDB', () => {
  it('an nginx 404 page: exit 4 at once, saying what answered', async () => {
    front.set({ kind: 'html', status: 404, title: '404 Not Found' });
    const { file, assets } = switches('nginx404', 30);
    const report = join(tmp.dir, 'nginx404.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(4);
    expect(front.seen).toHaveLength(1);
    const summary = JSON.parse(r.stdout);
    expect(summary.error).toMatch(/HTTP 404 \(text\/html\) with a web page titled "404 Not Found"/);
    expect(summary.error).toMatch(/CMDB_URL/);
    expectNothingApplied(report, 30, assets);
  });

  it("another service's JSON: exit 4 at once, naming its keys", async () => {
    front.set({ kind: 'json', status: 200, body: { status: 'UP', service: 'grafana' } });
    const { file, assets } = switches('otherjson', 30);
    const report = join(tmp.dir, 'otherjson.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--no-schema', '--concurrency', '1', ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(4);
    expect(front.seen).toHaveLength(1);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ retries: 0, ok: 0 });
    expect(summary.error).toContain('JSON that is not a CMDB answer (keys: status, service)');
    expectNothingApplied(report, 30, assets);
  });

  it.each([
    ['esb', 'apigw', /use --gateway apigw/],
    ['apigw', 'esb', /for the API gateway the URL is the part before \/api\/v3\//],
  ] as const)('the URL of one front door with --gateway %s: exit 4, hinting at the other', async (gateway, urlOf, hint) => {
    const { file, assets } = switches(`wronggw-${gateway}`, 30);
    const report = join(tmp.dir, `wronggw-${gateway}.report.csv`);
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, ...QUICK], { env: cmdbEnv(sim, gateway, { CMDB_URL: sim.urls[urlOf] }) });
    expect(r.code, r.stderr).toBe(4);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ retries: 0, requests: 1 });
    expect(summary.error).toMatch(/HTTP 404/);
    expect(summary.error).toMatch(hint);
    expectNothingApplied(report, 30, assets);
  });
});

describe('an answer that does not have the documented shape', () => {
  it('to a create: an unclear answer — the rows are looked up, found, and not sent again; exit 0', async () => {
    front.set({ kind: 'reshape', times: 1, data: { success_created: ['not', 'a', 'map'] } }, /batch_create_inst/);
    const { file, assets } = switches('reshape', 60);
    const report = join(tmp.dir, 'reshape.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--batch-size', '20', '--concurrency', '1', ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(0);
    const rows = readReport(report);
    expectRowsOnce(rows, 60);
    expect(rows.every((x) => x.status === 'ok')).toBe(true);
    expect(rows.filter((x) => /found on the server after an unclear answer .*data\.success_created/.test(String(x.detail)))).toHaveLength(20);
    expect(stored(assets)).toHaveLength(60);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
    expect(front.seen.filter((x) => /batch_create_inst/.test(x.path))).toHaveLength(3);
  });

  it("to the model's attributes (a look-up): exit 5 naming the place, nothing sent", async () => {
    front.set({ kind: 'reshape', times: 1, data: { attributes: [] } }, /search_object_attribute/);
    const { file, assets } = switches('reshape-read', 20);
    const report = join(tmp.dir, 'reshape-read.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(5);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ requests: 1, retries: 0 });
    expect(summary.error).toMatch(/search_object_attribute: the answer does not have the documented shape \(data: /);
    expectNothingApplied(report, 20, assets);
  });
});

describe('https to a plain-HTTP port', () => {
  it('is not retried; the message says it in words, not in OpenSSL text', async () => {
    const { file, assets } = switches('tls', 30);
    const report = join(tmp.dir, 'tls.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, ...QUICK, '--retries', '8'], {
      env: cmdbEnv(sim, 'esb', { CMDB_URL: `https://127.0.0.1:${sim.port}` }),
    });
    expect(r.code, r.stderr).toBe(4);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ retries: 0, requests: 1 });
    expect(summary.error).toMatch(/does not speak TLS/);
    expect(summary.error).toMatch(/try http:\/\//);
    expect(summary.error).not.toMatch(/ssl3_get_record|openssl|0A00010B/i);
    expectNothingApplied(report, 30, assets);
  });
});

describe('"come back later" answers pause and retry', () => {
  it('503 with Retry-After on creates: every request waits, then each row is created once, with no look-ups', async () => {
    front.set({ kind: 'retry-after', times: 2, seconds: 1 }, /batch_create_inst/);
    const { file, assets } = switches('retryafter', 60);
    const report = join(tmp.dir, 'retryafter.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--batch-size', '20', ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.rate_limited).toBeGreaterThanOrEqual(1);
    expect(summary.rate_limit_wait_ms).toBeGreaterThanOrEqual(1000);
    expect(front.seen.some((s) => /search_object_instances/.test(s.path))).toBe(false);
    expectRowsOnce(readReport(report), 60);
    expect(stored(assets)).toHaveLength(60);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });

  it("CMDB's own limiter (HTTP 200, 1199997): paused and retried, each row created once", async () => {
    front.set({ kind: 'cmdb-limiter', times: 2 }, /batch_create_inst/);
    const { file, assets } = switches('limiter', 60);
    const report = join(tmp.dir, 'limiter.report.csv');
    const r = await runCli(['create-inst', file, '--obj', 'bk_switch', '--report', report, '--batch-size', '20', ...QUICK], { env: viaFront() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).rate_limited).toBeGreaterThanOrEqual(1);
    expect(front.seen.some((s) => /search_object_instances/.test(s.path))).toBe(false);
    expectRowsOnce(readReport(report), 60);
    expect(stored(assets)).toHaveLength(60);
    expect(sim.counters().duplicateKeyAttempts).toBe(0);
  });
});
