/**
 * A dry run reads its input once (issue 16 §2): each row is checked and written to the plan in the same pass. The
 * plan must be the one the two-pass path writes (a CSV plan of JSON input still takes two passes: its header needs
 * every record's keys), and a real run's report must name the same rows with the same fingerprints. Built CLI,
 * simulator over ESB, the model's schema.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintText } from '../../src/report/fingerprint.js';
import { cmdbEnv, readReport, runCli, useSim, type ReportRow } from './helpers.js';

const { sim, tmp } = await useSim();
const FAST = ['--retry-delay', '5', '--no-progress'];

/** Rows 1-6: valid, a bad port_count, valid, an unknown vendor, row 1's bk_inst_name again (unique), valid. */
function records(tag: string): Record<string, unknown>[] {
  const sw = (i: number, extra: Record<string, unknown> = {}) => ({ bk_inst_name: `sw-${tag}-${i}`, bk_asset_id: `${tag}-${i}`, port_count: 48, is_managed: true, vendor: 'cisco', ...extra });
  return [sw(1), sw(2, { port_count: 'many' }), sw(3), sw(4, { vendor: 'acme' }), sw(5, { bk_inst_name: `sw-${tag}-1` }), sw(6, { bk_sn: 'SN "6" }, {' })];
}

const asNdjson = (recs: object[]) => recs.map((r) => JSON.stringify(r)).join('\n\n') + '\n'; // a blank line between rows
const asJson = (recs: object[]) => '[\n' + recs.map((r, i) => (i === 3 ? JSON.stringify(r, null, 2) : JSON.stringify(r))).join(',\n') + '\n]\n';

/** What a plan or report says of each row, the parts both paths must agree on. */
const essence = (rows: ReportRow[]) => rows.map((r) => ({ row: r.row, status: r.status, error: r.error ?? '', fingerprint: r.fingerprint }));

describe.each([
  ['ndjson', asNdjson],
  ['json', asJson],
] as const)('%s: a dry run in one pass', (format, write) => {
  it('writes the plan the two-pass path writes: every row in order, each problem naming its row and field; exit 2', async () => {
    const recs = records(`ONE-${format}`);
    const input = tmp.file(`one.${format}`, write(recs));
    const env = cmdbEnv(sim, 'esb');
    // One pass: the plan in the input's format.
    const one = await runCli(['create-inst', input, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, `one-${format}.report.ndjson`), ...FAST], { env });
    // Two passes: a CSV plan of JSON records (its header is the keys of every record).
    const two = await runCli(['create-inst', input, '--obj', 'bk_switch', '--dry-run', '--report', join(tmp.dir, `two-${format}.report.csv`), ...FAST], { env });
    expect(one.code, one.stderr).toBe(2);
    expect(two.code, two.stderr).toBe(2);
    const plan = readReport(join(tmp.dir, `one-${format}.plan.ndjson`));
    const csvPlan = readReport(join(tmp.dir, `two-${format}.plan.csv`));
    expect(plan.map((r) => [r.row, r.status])).toEqual([
      [1, 'unsent'],
      [2, 'invalid'],
      [3, 'unsent'],
      [4, 'invalid'],
      [5, 'invalid'],
      [6, 'unsent'],
    ]);
    expect(plan[1]!.error).toMatch(/port_count/);
    expect(plan[3]!.error).toMatch(/vendor/);
    expect(plan[4]!.error).toContain(`bk_inst_name "sw-ONE-${format}-1" is also in row 1`);
    expect(plan.map((r) => r.fingerprint)).toEqual(recs.map((r) => fingerprintText(r)));
    expect(plan.map((r) => r.input)).toEqual(recs);
    expect(essence(plan)).toEqual(essence(csvPlan));
    // The same summary lines on stderr (rows, batches, the listed problems), whichever path wrote the plan.
    const said = (s: string) => s.split('\n').filter((l) => /^\s*(rows:|batches:|row \d+:)/.test(l));
    expect(said(one.stderr)).toEqual(said(two.stderr));
    expect(said(one.stderr)).toContain('  rows: 6 read, 3 valid, 3 invalid');
    expect(sim.counters().writeRequests).toBe(0);
  });

  it('names the same rows with the same fingerprints as the real run that follows it', async () => {
    const recs = records(`REAL-${format}`);
    const input = tmp.file(`real.${format}`, write(recs));
    const env = cmdbEnv(sim, 'esb');
    const dry = await runCli(['create-inst', input, '--obj', 'bk_switch', '--dry-run', '--skip-invalid', '--report', join(tmp.dir, `real-${format}.report.ndjson`), ...FAST], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const real = await runCli(['create-inst', input, '--obj', 'bk_switch', '--skip-invalid', '--report', join(tmp.dir, `real-${format}.report.ndjson`), ...FAST], { env });
    expect(real.code, real.stderr).toBe(3);
    const plan = readReport(join(tmp.dir, `real-${format}.plan.ndjson`));
    const report = readReport(join(tmp.dir, `real-${format}.report.ndjson`));
    expect(report.map((r) => [r.row, r.status])).toEqual([
      [1, 'ok'],
      [2, 'invalid'],
      [3, 'ok'],
      [4, 'invalid'],
      // The real run has no in-file unique check: the server refuses the repeated bk_inst_name.
      [5, 'failed'],
      [6, 'ok'],
    ]);
    expect(report.map((r) => r.fingerprint)).toEqual(plan.map((r) => r.fingerprint));
    expect(report.map((r) => r.input)).toEqual(plan.map((r) => r.input));
    expect(sim.store.instances('bk_switch').filter((i) => String(i.bk_asset_id).startsWith(`REAL-${format}-`)).map((i) => i.bk_inst_name).sort()).toEqual([`sw-REAL-${format}-1`, `sw-REAL-${format}-3`, `sw-REAL-${format}-6`]);
  });
});

describe('a dry run that finds the file broken halfway', () => {
  it('stops with the line of the problem (exit 2) and leaves no half-written plan', async () => {
    const good = Array.from({ length: 1200 }, (_, i) => JSON.stringify({ bk_inst_name: `sw-BROKEN-${i}`, bk_asset_id: `BROKEN-${i}` }));
    const input = tmp.file('broken.json', '[\n' + good.join(',\n') + ',\n{"bk_inst_name": "x" "bk_asset_id": "y"}\n]\n');
    const r = await runCli(['create-inst', input, '--obj', 'bk_switch', '--no-schema', '--dry-run', '--report', join(tmp.dir, 'broken.report.ndjson'), ...FAST]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/broken\.json line 1202: invalid JSON: .*\(in element 1201\)/);
    expect(existsSync(join(tmp.dir, 'broken.plan.ndjson'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'broken.plan.ndjson.journal'))).toBe(false);
  });
});
