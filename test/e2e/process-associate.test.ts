/**
 * update-process, associate and naming instances by a unique field (issue 4), end to end: the built CLI against
 * the simulator over loopback, both front doors; each test asserts the simulator's store, the report and the exit
 * code.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cmdbEnv, csv, expectRowsOnce, FIXTURES, readReport, runCli, useSim, type ReportRow } from './helpers.js';

const { sim, tmp } = await useSim();

type Gateway = 'esb' | 'apigw';
const DOORS = ['esb', 'apigw'] as const;
const writes = () => sim.counters().writeRequests;
const links = (kind: string) => sim.store.associations(kind);
const pairs = (kind: string) => links(kind).map((a) => `${a.bk_inst_id}>${a.bk_asst_inst_id}`);
const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

async function cli(gateway: Gateway, args: string[], name: string) {
  const report = join(tmp.dir, `${name}-${gateway}.report.csv`);
  const r = await runCli([...args, '--report', report, '--json'], { env: cmdbEnv(sim, gateway) });
  return { ...r, summary: r.stdout ? json(r.stdout) : {}, rows: (): ReportRow[] => readReport(report), report };
}

// ------------------------------------------------------------------ update-process

describe.each(DOORS)('update-process via %s', (gateway) => {
  it('230 rows, two unknown ids: the read finds them missing (exit 2, nothing sent); --skip-invalid updates 228 and keeps every other field', async () => {
    // Processes 1001..1500 are business 2; 2005 belongs to business 3, so for --biz 2 it is as unknown as 9999.
    const ids = Array.from({ length: 228 }, (_, i) => 1001 + i);
    ids.splice(39, 0, 9999); // row 40
    ids.splice(76, 0, 2005); // row 77
    const bind = '"[{""enable"":true,""ip"":""0.0.0.0"",""port"":""9100"",""protocol"":""1"",""template_row_id"":1}]"';
    const input = tmp.file(`procs-${gateway}.csv`, csv(['bk_process_id,proc_num,auto_start,timeout,user,bind_info', ...ids.map((id) => `${id},3,true,45,deploy,${bind}`)]));
    const other = sim.store.process(2005);
    const before = sim.store.process(1001)!;

    const stop = await cli(gateway, ['update-process', input, '--biz', '2'], 'procs-stop');
    expect(stop.code).toBe(2);
    expect(writes()).toBe(0);
    expect(stop.stderr).toMatch(/row 40: bk_process_id: business 2 has no process 9999/);
    expect(stop.stderr).toMatch(/row 77: bk_process_id: business 2 has no process 2005/);

    const r = await cli(gateway, ['update-process', input, '--biz', '2', '--skip-invalid'], 'procs');
    expect(r.code).toBe(3);
    expect(r.summary).toMatchObject({ command: 'update-process', total: 230, ok: 228, failed: 0, invalid: 2, unsent: 0 });
    // 3 batches (100, 100, 28); each process was read first (list_process_related_info).
    expect(sim.counters().requests.update_process_instance).toBe(3);
    expect(sim.counters().requests.list_process_related_info).toBeGreaterThanOrEqual(1);

    const rows = r.rows();
    expectRowsOnce(rows, 230);
    expect(rows.filter((x) => x.status === 'invalid').map((x) => x.row)).toEqual([40, 77]);
    for (const ok of rows.filter((x) => x.status === 'ok')) expect(Number(ok.id)).toBe(Number(ok.bk_process_id));
    expect(rows[0]!.detail).toBe('changed: proc_num 1 → 3, auto_start false → true, timeout 30 → 45, user "root" → "deploy", bind_info [{"enable":true,"ip":"127.0.0.1","port"… → [{"enable":true,"ip":"0.0.0.0","port":"…');

    for (let id = 1001; id <= 1228; id++) {
      const p = sim.store.process(id)!;
      expect(p).toMatchObject({ proc_num: 3, auto_start: true, timeout: 45, user: 'deploy', bk_biz_id: 2 });
      expect(p.bind_info).toEqual([{ enable: true, ip: '0.0.0.0', port: '9100', protocol: '1', template_row_id: 1 }]);
    }
    // The fields not in the file keep their values (the server would have written null into every one of them).
    const { proc_num: _a, auto_start: _b, timeout: _c, user: _d, bind_info: _e, ...untouched } = before;
    expect(sim.store.process(1001)).toMatchObject(untouched);
    expect(sim.store.process(1229)).toMatchObject({ proc_num: 1, auto_start: false, user: 'root' });
    expect(sim.store.process(2005)).toEqual(other);
  });

  it('a column the server ignores and a field a template locks are refused, naming why; nothing is sent', async () => {
    const ignored = await cli(gateway, ['update-process', tmp.file(`proc-gap-${gateway}.csv`, csv(['bk_process_id,auto_time_gap,proc_num', '1001,30,2'])), '--biz', '2'], 'proc-gap');
    expect(ignored.code).toBe(2);
    expect(ignored.stderr).toMatch(/column "auto_time_gap" cannot be updated: the server's Process struct has no such field/);
    // Processes 1491..1500 come from process template 7 ("nginx"), which locks start_cmd, stop_cmd and user.
    const locked = tmp.file(`proc-locked-${gateway}.csv`, csv(['bk_process_id,user,description', '1495,app,web', '1001,app,api']));
    const before = sim.store.process(1495);
    const r = await cli(gateway, ['update-process', locked, '--biz', '2'], 'proc-locked');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/row 1: user is locked by process template 7 \("nginx"\): the server would ignore it; change it in the template/);
    expect(writes()).toBe(0);
    const skip = await cli(gateway, ['update-process', locked, '--biz', '2', '--skip-invalid'], 'proc-locked-skip');
    expect(skip.summary).toMatchObject({ ok: 1, invalid: 1 });
    expect(sim.store.process(1495)).toEqual(before);
    expect(sim.store.process(1001)).toMatchObject({ user: 'app', description: 'api', start_cmd: './start.sh', work_path: '/data/app/1001' });
  });

  it('a process from a template: only the unlocked columns of the file change, the rest stay', async () => {
    const before = sim.store.process(1496)!;
    const r = await cli(gateway, ['update-process', tmp.file(`proc-tpl-${gateway}.csv`, csv(['bk_process_id,description,proc_num', '1496,edge,4'])), '--biz', '2'], 'proc-tpl');
    expect(r.code).toBe(0);
    expect(sim.store.process(1496)).toEqual({ ...before, description: 'edge', proc_num: 4 });
    expect(r.rows()[0]!.detail).toBe('changed: description "" → "edge", proc_num 1 → 4');
  });
});

describe('update-process: more checks', () => {
  it('a wrong type is an invalid row before sending: exit 2, zero writes', async () => {
    const input = tmp.file('proc-types.csv', csv([
      'bk_process_id,proc_num,auto_start,bind_info',
      '1001,2,true,',
      '1002,three,true,',
      '1003,1,maybe,',
      '1004,1,false,"{""ip"":""1.2.3.4""}"',
      'x,1,false,',
    ]));
    const r = await cli('esb', ['update-process', input, '--biz', '2'], 'proc-types');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(r.stderr).toMatch(/4 of 5 rows are invalid/);
    expect(r.stderr).toMatch(/row 2: proc_num: expected a whole number, got "three"/);
    expect(r.stderr).toMatch(/row 3: auto_start: expected true or false, got "maybe"/);
    expect(r.stderr).toMatch(/row 4: bind_info: expected a JSON array/);
    expect(r.stderr).toMatch(/row 5: bk_process_id: /);
    expect(r.rows().map((x) => x.status)).toEqual(['unsent', 'invalid', 'invalid', 'invalid', 'invalid']);
    expect(sim.store.process(1001)).toMatchObject({ proc_num: 1 });
  });

  it('JSON keeps its own types: a quoted number or "true" is invalid, real ones are sent', async () => {
    const input = tmp.file('proc-types.json', JSON.stringify([
      { bk_process_id: 1001, proc_num: 2, auto_start: true, bind_info: [{ ip: '127.0.0.1', port: '80', protocol: '1', enable: true }] },
      { bk_process_id: 1002, proc_num: '2' },
      { bk_process_id: 1003, auto_start: 'true' },
      { bk_process_id: 1004, user: 5 },
    ]));
    const r = await cli('apigw', ['update-process', input, '--biz', '2'], 'proc-json');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(r.rows().map((x) => x.status)).toEqual(['unsent', 'invalid', 'invalid', 'invalid']);

    const skip = await cli('apigw', ['update-process', input, '--biz', '2', '--skip-invalid'], 'proc-json-skip');
    expect(skip.code).toBe(3);
    expect(skip.summary).toMatchObject({ ok: 1, invalid: 3 });
    expect(sim.store.process(1001)).toMatchObject({ proc_num: 2, auto_start: true });
    expect(sim.store.process(1001)!.bind_info).toEqual([{ ip: '127.0.0.1', port: '80', protocol: '1', enable: true }]);
    expect(sim.store.process(1002)).toMatchObject({ proc_num: 1 });
  });

  it('an unknown column, a missing bk_process_id column and a row of another business are refused before any write', async () => {
    const typo = await cli('esb', ['update-process', tmp.file('proc-typo.csv', csv(['bk_process_id,proc_nun', '1001,2'])), '--biz', '2'], 'proc-typo');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/proc_nun.*did you mean "proc_num"/);
    const noId = await cli('esb', ['update-process', tmp.file('proc-noid.csv', csv(['proc_num', '2'])), '--biz', '2'], 'proc-noid');
    expect(noId.code).toBe(2);
    expect(noId.stderr).toMatch(/bk_process_id/);
    const biz = await cli('esb', ['update-process', tmp.file('proc-biz.csv', csv(['bk_process_id,bk_biz_id,proc_num', '1001,2,2', '1002,3,2'])), '--biz', '2'], 'proc-biz');
    expect(biz.code).toBe(2);
    expect(biz.stderr).toMatch(/row 2: bk_biz_id 3 differs from --biz 2/);
    expect(writes()).toBe(0);
  });

  it('the sample file loads clean', async () => {
    const r = await cli('apigw', ['update-process', join(FIXTURES, 'processes.csv'), '--biz', '2'], 'proc-fixture');
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ total: 10, ok: 10 });
    expect(sim.store.process(1004)!.bind_info).toHaveLength(2);
    expect(sim.store.process(1006)).toMatchObject({ bk_process_name: '日志采集', priority: 5 });
  });
});

// ------------------------------------------------------------------ associate

const CONNECT = 'bk_switch_connect_host'; // n:n, seeded 1001>1, 1001>2, 1002>3
const CONTAIN = 'bk_firewall_contain_bk_switch'; // 1:n, seeded 1022>1018, 1022>1019
const ONE_TO_ONE = 'bk_firewall_connect_bk_switch'; // 1:1, seeded 1021>1020

describe.each(DOORS)('associate via %s', (gateway) => {
  it('450 rows of two kinds: new ones created once, existing ones ok "already exists", missing instances failed', async () => {
    // 150 more switches for the 1:n kind (ids 1026..1175), each contained by one of the 5 firewalls.
    for (let i = 0; i < 150; i++) sim.store.insert('bk_switch', { bk_inst_name: `extra-${i}`, bk_asset_id: `SW-EXTRA-${i}` });
    type Line = { kind: string; src: number; dst: number; expect: 'new' | 'exists' | 'iam' | 'source_missing' | 'target_missing' };
    const a: Line[] = Array.from({ length: 290 }, (_, i) => ({ kind: CONNECT, src: 1001 + (i % 20), dst: 10 + Math.floor(i / 20), expect: 'new' as const }));
    const b: Line[] = Array.from({ length: 150 }, (_, i) => ({ kind: CONTAIN, src: 1021 + (i % 5), dst: 1026 + i, expect: 'new' as const }));
    const odd: Line[] = [
      { kind: CONNECT, src: 1001, dst: 1, expect: 'exists' },
      { kind: CONNECT, src: 1001, dst: 2, expect: 'exists' },
      { kind: CONNECT, src: 1002, dst: 3, expect: 'exists' },
      // With IAM on, an unknown host refuses its whole batch (1199045 naming it): that row fails, the rest go again.
      { kind: CONNECT, src: 1001, dst: 9999, expect: 'iam' },
      { kind: CONNECT, src: 99999, dst: 5, expect: 'source_missing' },
      { kind: CONTAIN, src: 1022, dst: 1018, expect: 'exists' },
      { kind: CONTAIN, src: 1022, dst: 1019, expect: 'exists' },
      { kind: CONTAIN, src: 1021, dst: 99998, expect: 'target_missing' },
      { kind: CONTAIN, src: 88888, dst: 1030, expect: 'source_missing' },
      { kind: CONTAIN, src: 1023, dst: 77777, expect: 'target_missing' },
    ];
    // Interleave the kinds, odd rows spread through the file.
    const lines: Line[] = [];
    for (let i = 0; i < 290; i++) {
      lines.push(a[i]!);
      if (i < 150) lines.push(b[i]!);
      if (i % 29 === 0 && odd.length) lines.push(odd.shift()!);
    }
    lines.push(...odd);
    expect(lines).toHaveLength(450);
    const input = tmp.file(`links450-${gateway}.csv`, csv(['bk_obj_asst_id,bk_inst_id,bk_asst_inst_id', ...lines.map((l) => `${l.kind},${l.src},${l.dst}`)]));
    const before = { connect: pairs(CONNECT), contain: pairs(CONTAIN) };

    const r = await cli(gateway, ['associate', input], 'links450');
    expect(r.code).toBe(3);
    expect(r.summary).toMatchObject({ command: 'associate', total: 450, ok: 445, failed: 5, invalid: 0, unsent: 0, already_existed: 5 });
    // 295 connect rows in batches of 200 and 95, 155 contain rows in one: no batch mixes kinds; the batch with host
    // 9999 is refused whole once and its other rows go again at once.
    expect(sim.counters().requests.batch_create_instance_association).toBe(4);

    const rows = r.rows();
    expectRowsOnce(rows, 450);
    const all = sim.store.associations();
    rows.forEach((row, i) => {
      const l = lines[i]!;
      if (l.expect === 'new') {
        expect(row.status).toBe('ok');
        const made = all.find((x) => x.id === Number(row.id))!;
        expect(made).toMatchObject({ bk_obj_asst_id: l.kind, bk_inst_id: l.src, bk_asst_inst_id: l.dst });
      } else if (l.expect === 'exists') {
        expect(row).toMatchObject({ status: 'ok', detail: 'already exists' });
      } else {
        expect(row.status).toBe('failed');
        // Row errors carry no code on the real server: the report names them by their text.
        const said = { iam: /host 9999 is unknown or not placed in a business .*host 9999 has no relations \(code 1199045\)/, source_missing: /^关联实例不存在$|^the association inst is not exist$/, target_missing: /^被关联实例不存在$|^the  inst to asst  is not exist$/ }[l.expect];
        expect(row.error_code).toBe(l.expect === 'iam' ? '1199045' : l.expect);
        expect(row.error).toMatch(said);
      }
    });
    // Each link exactly once: the seeded ones plus the new ones, nothing else.
    const want = (kind: string, seeded: string[]) => [...seeded, ...lines.filter((l) => l.kind === kind && l.expect === 'new').map((l) => `${l.src}>${l.dst}`)].sort();
    expect(pairs(CONNECT).sort()).toEqual(want(CONNECT, before.connect));
    expect(pairs(CONTAIN).sort()).toEqual(want(CONTAIN, before.contain));
    expect(new Set(pairs(CONNECT)).size).toBe(pairs(CONNECT).length);
  });

  it('a re-run of the same file changes nothing and says so', async () => {
    const file = join(FIXTURES, 'links.csv');
    const first = await cli(gateway, ['associate', file, '--asst-id', CONNECT], 'rerun1');
    expect(first.code).toBe(0);
    expect(first.summary).toMatchObject({ total: 20, ok: 20, already_existed: 0 });
    const state = sim.store.associations();
    const writesBefore = writes();

    const report = join(tmp.dir, `rerun2-${gateway}.report.csv`);
    const again = await runCli(['associate', file, '--asst-id', CONNECT, '--report', report], { env: cmdbEnv(sim, gateway) });
    expect(again.code).toBe(0);
    expect(sim.store.associations()).toEqual(state);
    const rows = readReport(report);
    expectRowsOnce(rows, 20);
    for (const row of rows) expect(row).toMatchObject({ status: 'ok', detail: 'already exists' });
    expect(again.stderr).toMatch(/20 ok/);
    expect(again.stderr).toMatch(/20 rows already existed/);
    expect(again.stderr).toMatch(/Nothing changed: all 20 rows already existed on the server/);
    expect(writes() - writesBefore).toBe(1);
  });

  it('names instances by unique fields: --key bk_asset_id, --asst-key bk_host_innerip (column bk_asst_host_innerip)', async () => {
    const r = await cli(gateway, ['associate', join(FIXTURES, 'links-by-key.csv'), '--asst-id', CONNECT, '--key', 'bk_asset_id', '--asst-key', 'bk_host_innerip'], 'bykey');
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ total: 10, ok: 10 });
    for (let i = 0; i < 10; i++) expect(pairs(CONNECT)).toContain(`${1011 + i}>${101 + i}`);
    const rows = r.rows();
    expect(rows[0]!.detail).toBe('bk_asset_id SW-EXIST-0011 → 1011; bk_asst_host_innerip 10.0.0.101 → 101');
    // Look-ups: one search per model for the 10 values; hosts through list_hosts_without_biz (search_object_instances
    // refuses built-in models); the gateway also reads the unique rules of both models, the ESB cannot.
    expect(sim.counters().requests.search_object_instances).toBe(1);
    expect(sim.counters().requests.list_hosts_without_biz).toBe(1);
    expect(sim.counters().requests.search_object_unique ?? 0).toBe(gateway === 'apigw' ? 2 : 0);
    expect(writes()).toBe(1);
  });
});

describe('associate: checks before sending', () => {
  it('1:1 mapping violated, against the store and within the file: those rows fail, the rest land', async () => {
    const input = tmp.file('one-to-one.csv', csv([
      'bk_inst_id,bk_asst_inst_id',
      '1022,1001', // new
      '1021,1002', // firewall 1021 is already connected (to 1020)
      '1023,1020', // switch 1020 is already connected (from 1021)
      '1024,1001', // switch 1001 was connected by row 1 of this file
      '1021,1020', // exactly the existing link
    ]));
    const r = await cli('apigw', ['associate', input, '--asst-id', ONE_TO_ONE], 'one-to-one');
    expect(r.code).toBe(3);
    const rows = r.rows();
    expect(rows.map((x) => x.status)).toEqual(['ok', 'failed', 'failed', 'failed', 'ok']);
    for (const f of rows.filter((x) => x.status === 'failed')) {
      expect(f.error_code).toBe('mapping_1_1');
      expect(f.error).toMatch(/^关联关系为1:1的|for a 1:1 association/);
    }
    expect(rows[4]!.detail).toBe('already exists');
    expect(pairs(ONE_TO_ONE).sort()).toEqual(['1021>1020', '1022>1001']);
  });

  it('ids <= 0, an unknown kind and a kind whose models do not match the row are invalid: exit 2, nothing written', async () => {
    const input = tmp.file('bad-links.csv', csv([
      'bk_obj_asst_id,bk_obj_id,bk_inst_id,bk_asst_inst_id',
      `${CONNECT},bk_switch,1001,7`,
      `${CONNECT},bk_switch,0,7`,
      `${CONNECT},bk_switch,1001,-3`,
      'bk_switch_link_host,bk_switch,1001,7',
      `${CONNECT},bk_firewall,1021,7`,
    ]));
    const r = await cli('esb', ['associate', input], 'bad-links');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(r.stderr).toMatch(/row 2: bk_inst_id: .*ids must be > 0/);
    expect(r.stderr).toMatch(/row 3: bk_asst_inst_id: .*ids must be > 0/);
    expect(r.stderr).toMatch(/row 4: association kind "bk_switch_link_host" does not exist/);
    expect(r.stderr).toMatch(/row 5: bk_obj_id bk_firewall does not match association kind bk_switch_connect_host/);
    expect(r.rows().map((x) => x.status)).toEqual(['unsent', 'invalid', 'invalid', 'invalid', 'invalid']);
  });

  it('flags that break the prefix rule or contradict the kind stop the run before any request to write', async () => {
    const links = join(FIXTURES, 'links.csv');
    const prefix = await cli('esb', ['associate', links, '--asst-id', CONNECT, '--obj', 'bk_sw', '--asst-obj', 'host', '--no-schema'], 'prefix');
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toMatch(/must start with "bk_sw_" and end with "_host"/);
    const wrong = await cli('esb', ['associate', links, '--asst-id', CONNECT, '--obj', 'bk_firewall'], 'wrong-obj');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--obj bk_firewall does not match association kind bk_switch_connect_host/);
    const unknown = await cli('esb', ['associate', links, '--asst-id', 'bk_switch_link_host'], 'unknown-kind');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/association kind "bk_switch_link_host" does not exist/);
    expect(writes()).toBe(0);
  });

  it('keys that match nothing or several instances are invalid: exit 2 and nothing written; --skip-invalid sends the rest', async () => {
    // Two switches share a name (put in the store directly, past the unique rule): a shared value is a conflict.
    sim.store.insert('bk_switch', { bk_inst_name: 'twin', bk_asset_id: 'TWIN-A' });
    sim.store.insert('bk_switch', { bk_inst_name: 'twin', bk_asset_id: 'TWIN-B' });
    const input = tmp.file('keys.csv', csv([
      'bk_inst_name,asst_bk_host_innerip',
      'switch-exist-05,10.0.0.60',
      'twin,10.0.0.61',
      'no-such-switch,10.0.0.62',
      'switch-exist-06,10.9.9.9',
      'no-such-switch,10.9.9.8',
    ]));
    const args = ['associate', input, '--asst-id', CONNECT, '--key', 'bk_inst_name', '--asst-key', 'bk_host_innerip'];
    const before = pairs(CONNECT);
    const r = await cli('apigw', args, 'keys');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(pairs(CONNECT)).toEqual(before);
    expect(r.stderr).toMatch(/bk_host_innerip is unique in host only together with bk_cloud_id; a bk_host_innerip value that several instances share is a conflict/);
    expect(r.stderr).toMatch(/row 2: bk_inst_name: 2 bk_switch instances have bk_inst_name "twin" \(ids 1026, 1027\)/);
    expect(r.stderr).toMatch(/row 3: bk_inst_name: no bk_switch instance has bk_inst_name "no-such-switch"/);
    expect(r.stderr).toMatch(/row 4: asst_bk_host_innerip: no host instance has bk_host_innerip "10.9.9.9"/);
    // Both ends of row 5 are wrong: both are reported.
    expect(r.stderr).toMatch(/row 5: .*no-such-switch.*; asst_bk_host_innerip: no host instance has bk_host_innerip "10.9.9.8"/);

    const skip = await cli('apigw', [...args, '--skip-invalid'], 'keys-skip');
    expect(skip.code).toBe(3);
    expect(skip.summary).toMatchObject({ ok: 1, invalid: 4 });
    expect(pairs(CONNECT)).toEqual([...before, '1005>60']);
    expect(skip.rows()[0]!.detail).toBe('bk_inst_name switch-exist-05 → 1005; asst_bk_host_innerip 10.0.0.60 → 60');
  });

  it('a key that is not a field of the model is refused with a suggestion', async () => {
    const r = await cli('esb', ['associate', join(FIXTURES, 'links-by-key.csv'), '--asst-id', CONNECT, '--key', 'bk_asset_id', '--asst-key', 'bk_host_ip'], 'badkey');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--asst-key bk_host_ip: host has no field "bk_host_ip"\n/);
    const gw = await cli('apigw', ['associate', join(FIXTURES, 'links-by-key.csv'), '--asst-id', CONNECT, '--key', 'bk_asset_id', '--asst-key', 'bk_host_ip'], 'badkey-gw');
    expect(gw.code).toBe(2);
    expect(gw.stderr).toMatch(/host has no field "bk_host_ip"; its unique rules: bk_cloud_id \+ bk_host_innerip/);
    expect(writes()).toBe(0);
  });

  it('JSON rows name the target by asst_<key>; the kind comes from the flag', async () => {
    const r = await cli('esb', ['associate', join(FIXTURES, 'links-by-key.json'), '--asst-id', CONTAIN, '--key', 'bk_asset_id', '--asst-key', 'bk_asset_id'], 'bykey-json');
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ total: 8, ok: 8 });
    expect(pairs(CONTAIN)).toEqual(expect.arrayContaining(['1023>1001', '1023>1004', '1024>1005', '1024>1008']));
    expect(r.rows()[0]!.detail).toBe('bk_asset_id FW-EXIST-0003 → 1023; asst_bk_asset_id SW-EXIST-0001 → 1001');
  });

  it('--dry-run resolves the keys, shows the resolution and writes nothing', async () => {
    const r = await cli('apigw', ['associate', join(FIXTURES, 'links-by-key.csv'), '--asst-id', CONNECT, '--key', 'bk_asset_id', '--asst-key', 'bk_host_innerip', '--dry-run'], 'dry');
    expect(r.code).toBe(0);
    expect(writes()).toBe(0);
    expect(r.summary).toMatchObject({ dry_run: true, total: 10, unsent: 10, invalid: 0 });
    expect(r.stderr).toMatch(/association kind bk_switch_connect_host: bk_switch → host \(n:n\)/);
    expect(r.stderr).toMatch(/bk_asset_id: 10 value\(s\) resolved to one instance, 0 matched none, 0 matched several/);
    expect(r.stderr).toMatch(/bk_asst_host_innerip: 10 value\(s\) resolved/);
    // A dry run writes a plan beside the --report path, never the report.
    expect(r.summary).toMatchObject({ report: null, plan: r.report.replace(/\.report\.csv$/, '.plan.csv') });
    const rows = readReport(r.summary.plan as string);
    expect(rows[9]).toMatchObject({ status: 'unsent', detail: 'bk_asset_id SW-EXIST-0020 → 1020; bk_asst_host_innerip 10.0.0.110 → 110; dry run' });
  });

  it('the mixed-kind sample loads clean, one batch per kind', async () => {
    const r = await cli('esb', ['associate', join(FIXTURES, 'links-kinds.csv')], 'kinds');
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ total: 7, ok: 7, batches: 2 });
    expect(pairs(ONE_TO_ONE)).toEqual(expect.arrayContaining(['1023>1009', '1024>1010', '1025>1011']));
    expect(pairs(CONNECT)).toEqual(expect.arrayContaining(['1001>150', '1002>153']));
  });
});

// ------------------------------------------------------------------ update-inst --key

describe('update-inst --key', () => {
  it('rows named by bk_asset_id are resolved and updated', async () => {
    const r = await cli('apigw', ['update-inst', join(FIXTURES, 'switch-updates-by-key.csv'), '--obj', 'bk_switch', '--key', 'bk_asset_id'], 'upd-key');
    expect(r.code).toBe(0);
    expect(r.summary).toMatchObject({ total: 5, ok: 5 });
    expect(sim.store.instance('bk_switch', 1011)).toMatchObject({ bk_asset_id: 'SW-EXIST-0011', bk_operator: 'lisi', is_managed: true, remark: '已巡检' });
    expect(sim.store.instance('bk_switch', 1012)).toMatchObject({ is_managed: false, remark: '待下线' });
    expect(r.rows()[0]).toMatchObject({ id: '1011', detail: 'bk_asset_id SW-EXIST-0011 → 1011' });
    expect(writes()).toBe(1);
  });

  it('through the gateway a field in no unique rule is refused with the rules listed; a rule field works without isonly', async () => {
    const input = tmp.file('upd-sn-gw.csv', csv(['bk_sn,port_count', 'SN-SW-0001,24']));
    const r = await cli('apigw', ['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_sn'], 'upd-sn-gw');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--key bk_sn: bk_sn is in no unique rule of bk_switch, so it cannot name one instance; its unique rules: bk_inst_name; bk_asset_id/);
    expect(writes()).toBe(0);
    // bk_asset_id carries isonly:false on the server, and is unique through its rule.
    const ok = await cli('apigw', ['update-inst', tmp.file('upd-asset-gw.csv', csv(['bk_asset_id,port_count', 'SW-EXIST-0003,12'])), '--obj', 'bk_switch', '--key', 'bk_asset_id'], 'upd-asset-gw');
    expect(ok.code).toBe(0);
    expect(sim.store.instance('bk_switch', 1003)).toMatchObject({ port_count: 12 });
  });

  it('ambiguous and missing keys are invalid rows: exit 2, nothing written', async () => {
    sim.store.insert('bk_switch', { bk_inst_name: 'a', bk_asset_id: 'SN-TWIN-A', bk_sn: 'SN-TWIN' });
    sim.store.insert('bk_switch', { bk_inst_name: 'b', bk_asset_id: 'SN-TWIN-B', bk_sn: 'SN-TWIN' });
    const input = tmp.file('upd-sn.csv', csv(['bk_sn,port_count', 'SN-SW-0001,24', 'SN-TWIN,24', 'SN-NONE,24', 'SN-SW-0002,x']));
    const r = await cli('esb', ['update-inst', input, '--obj', 'bk_switch', '--key', 'bk_sn'], 'upd-sn');
    expect(r.code).toBe(2);
    expect(writes()).toBe(0);
    expect(r.stderr).toMatch(/the ESB cannot read bk_switch's unique rules; instances are named by bk_sn as given, and a bk_sn value that several instances share is a conflict/);
    expect(r.stderr).toMatch(/row 2: bk_sn: 2 bk_switch instances have bk_sn "SN-TWIN"/);
    expect(r.stderr).toMatch(/row 3: bk_sn: no bk_switch instance has bk_sn "SN-NONE"/);
    expect(r.stderr).toMatch(/row 4: port_count: expected a whole number/);
    expect(r.rows().map((x) => x.status)).toEqual(['unsent', 'invalid', 'invalid', 'invalid']);
    expect(sim.store.instance('bk_switch', 1001)).toMatchObject({ port_count: 48 });
  });

  it('a --key that is not a field of the model is refused', async () => {
    const r = await cli('apigw', ['update-inst', join(FIXTURES, 'switch-updates-by-key.csv'), '--obj', 'bk_switch', '--key', 'bk_asset'], 'upd-badkey');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bk_switch has no field "bk_asset" \(did you mean "bk_asset_id"\?\)/);
    expect(writes()).toBe(0);
  });
});
