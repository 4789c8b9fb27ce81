/**
 * 0 × 429 at any latency: the limiter counts a request from its send time plus the spread of the round trips seen
 * (src/http/limiter.ts), no longer from its answer, so this is what has to hold with slow and jittery answers. The
 * simulator counts a request when it arrives and adds its latency after that. The built
 * CLI against the simulator's sliding window at 0, 30, 150 and 400 ms of latency with jitter, at --concurrency 16 and
 * with default options (the requests in flight sized to the rate × the round trip, src/http/in-flight.ts) against a
 * window of 20, where a turn's worth of round trips lets the next turns count early; and the same against the
 * gateway's fixed window (a counter started by the first request of a window, src/sim/limiter.ts). Speed is measured
 * in the benchmark (case 3) and in simulated time (test/unit/http-in-flight.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { Simulator } from '../../src/sim/index.js';
import { feishuEnv, readReport, expectRowsOnce, runCli, tempDir, withSim } from './helpers.js';

const NS = 'package_demo__c';
const OBJ = 'device';
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe.each([
  { name: '--concurrency 16, 8 per 400 ms, sliding window', limit: 8, requests: 40, perRequest: 5, latencies: [[0, 20], [30, 30], [150, 100], [400, 250]], concurrency: ['--concurrency', '16'], windowKind: 'sliding' },
  { name: 'default options, 20 per 400 ms, sliding window', limit: 20, requests: 100, perRequest: 2, latencies: [[0, 20], [30, 30], [150, 100], [400, 250]], concurrency: [], windowKind: 'sliding' },
  { name: 'default options, 20 per 400 ms, fixed window', limit: 20, requests: 100, perRequest: 2, latencies: [[0, 20], [30, 30], [150, 100], [400, 250]], concurrency: [], windowKind: 'fixed' },
] as const)('rate windows at any latency ($name)', ({ limit, requests, perRequest, latencies, concurrency, windowKind }) => {
  const rate = `${limit}/400ms`;
  let sim: Simulator;
  let ids: string[];
  beforeAll(async () => {
    sim = await withSim({ feishuWindows: [{ limit, windowMs: 400 }], windowKind });
    const t = sim.store.table(NS, OBJ);
    while (t.size < requests * perRequest) {
      const rid = String(sim.store.nextFeishuId++);
      t.set(rid, { _id: rid, name: `device-${t.size + 1}`, status: 'online', cpu_cores: 8 });
    }
    ids = [...t.keys()].slice(0, requests * perRequest);
  });
  afterAll(() => sim.close());

  it.each(latencies)('at %i ms latency with %i ms jitter: no 429, every row applied once', async (latencyMs, latencyJitterMs) => {
    // The previous case's last requests must have left the server's window: each run starts with a full burst.
    await new Promise((r) => setTimeout(r, 500));
    sim.setFaults({ latencyMs, latencyJitterMs });
    const before = sim.counters();
    const input = tmp.file(`${limit}-${windowKind}-l${latencyMs}.ndjson`, ids.map((rid) => JSON.stringify({ _id: rid, cpu_cores: latencyMs })).join('\n') + '\n');
    const report = join(tmp.dir, `${limit}-${windowKind}-l${latencyMs}.report.csv`);
    const r = await runCli(
      ['apaas-update', input, '--namespace', NS, '--object', OBJ, '--report', report, '--json', '--batch-size', String(perRequest), ...concurrency, '--rate', rate],
      { env: feishuEnv(sim) },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: requests * perRequest, requests, rate_limited: 0 });
    expect(sim.counters().http429 - before.http429).toBe(0);
    expect((sim.counters().requests.feishu_batch_update ?? 0) - (before.requests.feishu_batch_update ?? 0)).toBe(requests);
    expectRowsOnce(readReport(report), requests * perRequest);
    expect(sim.store.records(NS, OBJ).filter((x) => x.cpu_cores === latencyMs)).toHaveLength(requests * perRequest);
  }, 60_000);
});
