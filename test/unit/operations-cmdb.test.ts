/**
 * The CMDB operation pieces of issue 4 without a server: key look-ups (chunks, paging, cache, types), the
 * --asst-key column convention, the prefix rule, update-process's reading of refusals, associate's grouping.
 */
import { describe, expect, it } from 'vitest';
import type { InputRecord } from '../../src/core/types.js';
import { CMDB_ANSWERS, type CmdbApi, type CmdbEnvelope, type CmdbOp } from '../../src/http/cmdb.js';
import type { InputSource } from '../../src/input/index.js';
import { asstKeyColumn, asstKeyColumns, associate, prefixProblem } from '../../src/operations/cmdb/associate.js';
import { KeyResolver, newTally, readCreateMaps, resolveKeyColumn, rowErrorCode } from '../../src/operations/cmdb/common.js';
import { checkKey, lookupFields } from '../../src/operations/cmdb/unique.js';
import { updateProcess } from '../../src/operations/cmdb/update-process.js';
import type { CheckedRow, OperationContext, OperationOptions } from '../../src/operations/types.js';

type Call = { op: string; body: Record<string, any> };

/** A CmdbApi that answers from a function and records every call. */
function fakeApi(answer: (op: string, body: Record<string, any>) => Partial<CmdbEnvelope>) {
  const calls: Call[] = [];
  const api = {
    async call(op: CmdbOp, body: Record<string, any>) {
      calls.push({ op, body });
      const env = { result: true, code: 0, message: '', permission: null, data: null, status: 200, ...answer(op, body) };
      // What CmdbApi.call hands on: a successful answer's data read by the operation's schema.
      return (env.result ? { ...env, data: CMDB_ANSWERS[op].data.parse(env.data) } : { ...env, data: null }) as CmdbEnvelope;
    },
  } as unknown as CmdbApi;
  return { api, calls };
}

const signal = new AbortController().signal;

function ctx(api: CmdbApi | undefined, options: Partial<OperationOptions>, source: Partial<InputSource> = {}): OperationContext {
  const lines: string[] = [];
  return {
    cmdb: api,
    options: { noSchema: false, empty: 'omit', ...options },
    source: { file: 'x', path: 'x', format: 'csv', columns: null, hints: {}, ...source } as InputSource,
    info: (l) => lines.push(l),
    signal,
  };
}

const rec = (row: number, values: Record<string, unknown>): InputRecord => ({ row, line: row + 1, values } as InputRecord);

/**
 * search_object_instances (custom models: `{info}`, no count, info null when empty) or list_hosts_without_biz (hosts:
 * `{count, info}`) over a list of instances, like the server: `in` filter, fields, page.
 */
function instancesAnswer(objId: string, insts: Record<string, unknown>[]) {
  return (op: string, body: Record<string, any>): Partial<CmdbEnvelope> => {
    const hostCall = op === 'list_hosts_without_biz' && objId === 'host';
    if (!hostCall && (op !== 'search_object_instances' || body.bk_obj_id !== objId)) return { data: [] };
    const rule = (hostCall ? body.host_property_filter : body.conditions).rules[0];
    const hits = insts.filter((i) => rule.value.includes(i[rule.field]));
    const info = hits.slice(body.page.start, body.page.start + body.page.limit);
    return { data: hostCall ? { count: hits.length, info } : { info: info.length ? info : null } };
  };
}

describe('--asst-key column convention', () => {
  it('asst_<key>, or bk_asst_<key without bk_> when only that is in the header', () => {
    expect(asstKeyColumns('bk_host_innerip')).toEqual(['asst_bk_host_innerip', 'bk_asst_host_innerip']);
    expect(asstKeyColumns('serial')).toEqual(['asst_serial', 'bk_asst_serial']);
    expect(asstKeyColumn('bk_inst_name', ['bk_inst_name', 'bk_asst_inst_name'])).toBe('bk_asst_inst_name');
    expect(asstKeyColumn('bk_inst_name', ['bk_asst_inst_name', 'asst_bk_inst_name'])).toBe('asst_bk_inst_name');
    expect(asstKeyColumn('bk_host_innerip', ['x'])).toBe('asst_bk_host_innerip');
    expect(asstKeyColumn('bk_host_innerip', null)).toBe('asst_bk_host_innerip');
  });
});

describe('prefix rule of bk_obj_asst_id', () => {
  it('must start with "<obj>_" and end with "_<asst obj>"', () => {
    expect(prefixProblem({ id: 'bk_switch_connect_host', obj: 'bk_switch', asstObj: 'host' })).toBeUndefined();
    expect(prefixProblem({ id: 'bk_switch_connect_host', obj: 'bk_sw', asstObj: 'host' })).toMatch(/must start with "bk_sw_"/);
    expect(prefixProblem({ id: 'bk_switch_connect_host', obj: 'bk_switch', asstObj: 'bk_host' })).toMatch(/end with "_bk_host"/);
  });
});

describe('checkKey: keys from the unique rules', () => {
  // As the server has them: isonly only on bk_inst_name; bk_asset_id and rack_no unique through rules.
  const attrs = [
    { id: 1, bk_property_id: 'bk_inst_name', bk_property_type: 'singlechar', isonly: true, isrequired: true },
    { id: 2, bk_property_id: 'bk_asset_id', bk_property_type: 'singlechar', isonly: false, isrequired: true },
    { id: 3, bk_property_id: 'rack_no', bk_property_type: 'int', isonly: false },
    { id: 4, bk_property_id: 'bk_sn', bk_property_type: 'singlechar', isonly: false },
    { id: 5, bk_property_id: 'remark', bk_property_type: 'longchar', isonly: false },
  ];
  const rules = [['bk_inst_name'], ['bk_asset_id'], ['rack_no'], ['bk_sn', 'rack_no']];
  it('gateway: any field of a single-field rule, without isonly', () => {
    expect(checkKey(attrs, rules, 'bk_switch', 'bk_asset_id')).toEqual({ numeric: false });
    expect(checkKey(attrs, rules, 'bk_switch', 'rack_no')).toEqual({ numeric: true });
  });
  it('gateway: a field in no rule is refused with the rules listed; a typo with a suggestion', () => {
    expect(checkKey(attrs, rules, 'bk_switch', 'remark').problem).toBe('remark is in no unique rule of bk_switch, so it cannot name one instance; its unique rules: bk_inst_name; bk_asset_id; rack_no; bk_sn + rack_no');
    expect(checkKey(attrs, rules, 'bk_switch', 'bk_asset').problem).toMatch(/^bk_switch has no field "bk_asset" \(did you mean "bk_asset_id"\?\); its unique rules: /);
  });
  it('gateway: a field of a multi-field rule only is accepted with a note that shared values are conflicts', () => {
    expect(checkKey(attrs, rules, 'bk_switch', 'bk_sn')).toMatchObject({ note: expect.stringMatching(/bk_sn is unique in bk_switch only together with rack_no; .* conflict/) });
  });
  it('ESB (no rules): the field the user names, with the conflict note', () => {
    expect(checkKey(attrs, undefined, 'bk_switch', 'remark')).toMatchObject({ numeric: false, note: expect.stringMatching(/ESB cannot read bk_switch's unique rules/) });
    expect(checkKey(attrs, undefined, 'bk_switch', 'nope').problem).toMatch(/has no field "nope"/);
  });
  it('unclear creates are checked by the single-field rules (gateway), else --key, else the isonly fields', () => {
    expect(lookupFields(attrs, rules, undefined)).toEqual(['bk_inst_name', 'bk_asset_id', 'rack_no']);
    expect(lookupFields(attrs, undefined, undefined)).toEqual(['bk_inst_name']);
    expect(lookupFields(attrs, undefined, 'bk_asset_id')).toEqual(['bk_asset_id']);
  });
});

describe('per-row create errors: read by their text, in either language', () => {
  it.each([
    ['duplicated instances exist, fields [bk_asset_id: "X"] duplicated', 'duplicate'],
    ['数据唯一性校验失败， bk_asset_id: "X" 重复', 'duplicate'],
    ['the associations bk_switch->host already exist', 'already_exists'],
    ['关联关系 bk_switch->host 重复', 'already_exists'],
    ["'port_count' parameters must be integral", 'invalid_value'],
    ["'bk_inst_name' 未赋值", 'required'],
    ['something new', undefined],
  ])('%s → %s', (msg, code) => expect(rowErrorCode(msg)).toBe(code));
  it('readCreateMaps: no code invented; an existing association is ok when asked', () => {
    const env = { result: true, code: 0, message: '', permission: null, status: 200, data: { success_created: { '0': 9 }, error_msg: { '1': '关联关系 a->b 重复', '2': 'odd' } } };
    expect(readCreateMaps(env, 3, { alreadyExistsIsOk: true })).toEqual([{ ok: true, id: 9 }, { ok: true, detail: 'already exists' }, { ok: false, code: undefined, error: 'odd' }]);
  });
});

describe('KeyResolver', () => {
  it('asks at most 500 values a request, only the id and the key, and caches the answers', async () => {
    const insts = Array.from({ length: 1200 }, (_, i) => ({ bk_inst_id: 5000 + i, bk_asset_id: `A-${i}` }));
    const { api, calls } = fakeApi(instancesAnswer('bk_switch', insts));
    const r = new KeyResolver(api, 'bk_switch', 'bk_asset_id', signal);
    const values = [...insts.map((i) => i.bk_asset_id), 'A-0', 'NOPE'];
    const found = await r.lookup(values);
    // No count in the answer: a full page of 500 asks for the next (empty) one before the next chunk.
    expect(calls.map((c) => [c.body.conditions.rules[0].value.length, c.body.page.start])).toEqual([[500, 0], [500, 500], [500, 0], [500, 500], [201, 0]]);
    for (const c of calls) {
      expect(c.body.conditions.rules[0].value.length).toBeLessThanOrEqual(500);
      expect(c.body.fields).toEqual(['bk_inst_id', 'bk_asset_id']);
      expect(c.body.page).toMatchObject({ limit: 500, sort: 'bk_inst_id' });
    }
    expect(found.get('A-7')).toEqual([5007]);
    expect(found.get('NOPE')).toEqual([]);
    await r.lookup(['A-1', 'A-1199', 'NOPE']);
    expect(calls).toHaveLength(5);
  });

  it('pages through when 500 values match more than 500 instances', async () => {
    const insts = Array.from({ length: 700 }, (_, i) => ({ bk_inst_id: i + 1, bk_sn: i < 600 ? 'DUP' : `S-${i}` }));
    const { api, calls } = fakeApi(instancesAnswer('bk_switch', insts));
    const found = await new KeyResolver(api, 'bk_switch', 'bk_sn', signal).lookup(['DUP', 'S-650']);
    expect(calls.map((c) => c.body.page.start)).toEqual([0, 500]);
    expect(found.get('DUP')).toHaveLength(600);
    expect(found.get('S-650')).toEqual([651]);
  });

  it('finds hosts with list_hosts_without_biz (bk_host_id) and sends numbers for numeric keys', async () => {
    const { api, calls } = fakeApi(instancesAnswer('host', [{ bk_host_id: 3, rack: 12 }]));
    const found = await new KeyResolver(api, 'host', 'rack', signal, undefined, true).lookup(['12', '13']);
    expect(calls[0]!.op).toBe('list_hosts_without_biz');
    expect(calls[0]!.body.fields).toEqual(['bk_host_id', 'rack']);
    expect(calls[0]!.body.host_property_filter.rules[0].value).toEqual([12, 13]);
    expect(found.get('12')).toEqual([3]);
  });

  it('an answer without count and with info null is "none"; an instance without a usable id is never an id', async () => {
    const { api } = fakeApi(() => ({ data: { info: [{ bk_asset_id: 'A' }, { bk_inst_id: 'x', bk_asset_id: 'A' }] } }));
    expect((await new KeyResolver(api, 'bk_switch', 'bk_asset_id', signal).lookup(['A'])).get('A')).toEqual([]);
    const none = fakeApi(() => ({ data: { info: null } }));
    expect((await new KeyResolver(none.api, 'bk_switch', 'bk_asset_id', signal).lookup(['B'])).get('B')).toEqual([]);
  });

  it('a refused look-up is a usage error naming the model and key', async () => {
    const { api } = fakeApi(() => ({ result: false, code: 1199006, message: 'bad filter' }));
    await expect(new KeyResolver(api, 'bk_switch', 'nope', signal).lookup(['x'])).rejects.toThrow(/cannot look up bk_switch instances by nope: bad filter/);
  });
});

describe('resolveKeyColumn', () => {
  const row = (n: number, key: unknown, errors: CheckedRow['errors'] = []): CheckedRow => ({ row: n, values: {}, payload: { inst_id: key }, group: '', errors });
  it('writes the id, or an error for no match and for several; counts distinct values; leaves ids alone', async () => {
    const insts = [{ bk_inst_id: 1, k: 'one' }, { bk_inst_id: 2, k: 'two' }, { bk_inst_id: 3, k: 'two' }];
    const { api } = fakeApi(instancesAnswer('bk_switch', insts));
    const rows = [row(1, 'one'), row(2, 'two'), row(3, 'none'), row(4, 99), row(5, 'one', [{ message: 'port_count: bad' }])];
    const tally = newTally();
    await resolveKeyColumn(rows, new KeyResolver(api, 'bk_switch', 'k', signal), 'k', 'inst_id', tally);
    expect(rows[0]).toMatchObject({ payload: { inst_id: 1 }, detail: 'k one → 1', errors: [] });
    expect(rows[1]!.errors[0]!.message).toBe('k: 2 bk_switch instances have k "two" (ids 2, 3); name the instance by a unique field or by its id');
    expect(rows[2]!.errors[0]!.message).toBe('k: no bk_switch instance has k "none"');
    expect(rows[3]).toMatchObject({ payload: { inst_id: 99 }, errors: [] });
    // A row with other problems is resolved too (its report names every problem).
    expect(rows[4]!.payload.inst_id).toBe(1);
    expect([tally.resolved.size, tally.missing.size, tally.ambiguous.size]).toEqual([1, 1, 1]);
  });
});

describe('update-process: read, merge, read the answer', () => {
  /** Processes 11..13 of business 2; 13 comes from template 7, which locks user. */
  const proc = (id: number) => ({ bk_process_id: id, bk_biz_id: 2, bk_process_name: `p${id}`, proc_num: 1, user: 'root', timeout: null, bind_info: [] });
  function processes(write: (op: string, body: Record<string, any>) => Partial<CmdbEnvelope>) {
    return (op: string, body: Record<string, any>): Partial<CmdbEnvelope> => {
      if (op === 'list_process_related_info') {
        const ids: number[] = body.process_property_filter.rules[0].value;
        const info = ids.filter((id) => id >= 11 && id <= 13).map((id) => ({ process_template: { id: id === 13 ? 7 : 0 }, process: proc(id) }));
        return { data: { count: info.length, info } };
      }
      if (op === 'get_proc_template') return { data: { id: 7, bk_process_name: 'nginx', property: { user: { value: 'www', as_default_value: true }, proc_num: { value: null, as_default_value: false } } } };
      return write(op, body);
    };
  }
  async function session(write: (op: string, body: Record<string, any>) => Partial<CmdbEnvelope>, values: Record<string, string>[] = [11, 12, 13].map((id) => ({ bk_process_id: String(id), proc_num: '2' }))) {
    const f = fakeApi(processes(write));
    const s = await updateProcess.setup(ctx(f.api, { biz: 2 }, { columns: Object.keys(values[0]!) }));
    const rows = values.map((v, i) => s.check(rec(i + 1, v)));
    await s.resolve!(rows);
    return { s, rows, calls: f.calls };
  }

  it('sends each row merged over the process as it is, and says which fields change', async () => {
    const { s, rows, calls } = await session((_op, body) => ({ data: body.processes.map((p: { bk_process_id: number }) => p.bk_process_id) }));
    const v = await s.send(rows, signal);
    const sent = calls.find((c) => c.op === 'update_process_instance')!.body;
    expect(sent.bk_biz_id).toBe(2);
    expect(sent.processes[0]).toMatchObject({ bk_process_id: 11, bk_process_name: 'p11', proc_num: 2, user: 'root', timeout: null, bind_info: [], start_cmd: null });
    expect(rows[0]!.detail).toBe('changed: proc_num 1 → 2');
    expect(v).toEqual({ kind: 'rows', results: [11, 12, 13].map((id) => ({ ok: true, id })) });
  });

  it('a field the template locks, an unknown process and a column the server ignores are refused', async () => {
    const { rows } = await session(() => ({}), [{ bk_process_id: '13', user: 'app' }, { bk_process_id: '99', user: 'app' }]);
    expect(rows[0]!.errors.map((e) => e.message)).toEqual(['user is locked by process template 7 ("nginx"): the server would ignore it; change it in the template']);
    expect(rows[1]!.errors.map((e) => e.message)).toEqual(['bk_process_id: business 2 has no process 99 (list_process_related_info found none)']);
    const s = await updateProcess.setup(ctx(fakeApi(processes(() => ({}))).api, { biz: 2 }));
    expect(s.checkColumns(['bk_process_id', 'auto_time_gap', 'process_template_id']).map((e) => e.message)).toEqual([
      'column "auto_time_gap" cannot be updated: the server\'s Process struct has no such field, so update_process_instance ignores it',
      'column "process_template_id" cannot be updated: the server\'s Process struct has no such field (a process\'s template cannot be changed here)',
    ]);
  });

  it('the ids named by a 1199011 refusal fail alone; the rest may go again', async () => {
    const { s, rows } = await session(() => ({ result: false, code: 1199011, message: "'[bk_process_id: 13,11]' the parameter is invalid or does not exist" }));
    expect(await s.send(rows, signal)).toMatchObject({ kind: 'rejected', code: 1199011, named: [0, 2], splittable: false });
  });

  it('other row-level refusals are split; whole-request ones are not', async () => {
    const typeErr = await session(() => ({ result: false, code: 1199000, message: 'Deserializing JSON data failed' }));
    expect(await typeErr.s.send(typeErr.rows, signal)).toMatchObject({ kind: 'rejected', splittable: true });
    const tooMany = await session(() => ({ result: false, code: 1199035, message: ' update process instances exceed the limit 100' }));
    expect(await tooMany.s.send(tooMany.rows, signal)).toMatchObject({ kind: 'rejected', splittable: false });
  });

  it('a process missing from the answer is not guessed ok', async () => {
    const { s, rows } = await session(() => ({ data: [11, 13] }));
    const v = await s.send(rows, signal);
    expect(v.kind === 'rows' && v.results[1]).toMatchObject({ ok: false, code: 'protocol' });
  });
});

describe('associate: kinds and keys', () => {
  const KINDS = [
    { bk_obj_asst_id: 'bk_switch_connect_host', bk_obj_id: 'bk_switch', bk_asst_obj_id: 'host', mapping: 'n:n' },
    { bk_obj_asst_id: 'bk_firewall_connect_bk_switch', bk_obj_id: 'bk_firewall', bk_asst_obj_id: 'bk_switch', mapping: '1:1' },
  ];
  const answer = (op: string, body: Record<string, any>): Partial<CmdbEnvelope> => {
    if (op === 'find_object_association') return { data: KINDS.filter((k) => k.bk_obj_asst_id === body.condition.bk_obj_asst_id) };
    if (op === 'search_object_attribute') {
      return { data: body.bk_obj_id === 'host' ? [{ bk_property_id: 'bk_host_innerip', bk_property_type: 'singlechar', isonly: true }] : [{ bk_property_id: 'bk_asset_id', bk_property_type: 'singlechar', isonly: true }] };
    }
    if (op === 'list_hosts_without_biz') return instancesAnswer('host', [{ bk_host_id: 7, bk_host_innerip: '10.0.0.7' }])(op, body);
    if (op === 'search_object_instances') return instancesAnswer(body.bk_obj_id, [{ bk_inst_id: 1001, bk_asset_id: 'SW-1' }])(op, body);
    return {};
  };

  it('rows are grouped by their own kind; an unknown kind and mismatched models are row errors', async () => {
    const { api, calls } = fakeApi(answer);
    const s = await associate.setup(ctx(api, {}, { columns: ['bk_obj_asst_id', 'bk_obj_id', 'bk_inst_id', 'bk_asst_inst_id'] }));
    const rows = [
      s.check(rec(1, { bk_obj_asst_id: 'bk_switch_connect_host', bk_inst_id: '1', bk_asst_inst_id: '2' })),
      s.check(rec(2, { bk_obj_asst_id: 'bk_firewall_connect_bk_switch', bk_inst_id: '3', bk_asst_inst_id: '4' })),
      s.check(rec(3, { bk_obj_asst_id: 'bk_nope_x', bk_inst_id: '5', bk_asst_inst_id: '6' })),
      s.check(rec(4, { bk_obj_asst_id: 'bk_switch_connect_host', bk_obj_id: 'host', bk_inst_id: '7', bk_asst_inst_id: '8' })),
      s.check(rec(5, { bk_obj_asst_id: 'bk_switch_connect_host', bk_inst_id: '0', bk_asst_inst_id: '8' })),
    ];
    await s.resolve!(rows);
    expect(rows.map((r) => r.group)).toEqual(['bk_switch_connect_host', 'bk_firewall_connect_bk_switch', 'bk_nope_x', 'bk_switch_connect_host', 'bk_switch_connect_host']);
    expect(rows[0]!.errors).toEqual([]);
    expect(rows[1]!.errors).toEqual([]);
    expect(rows[2]!.errors[0]!.message).toMatch(/association kind "bk_nope_x" does not exist/);
    expect(rows[3]!.errors[0]!.message).toMatch(/bk_obj_id host does not match association kind bk_switch_connect_host/);
    expect(rows[4]!.errors[0]!.message).toMatch(/bk_inst_id: .*ids must be > 0/);
    // Each kind looked up once.
    expect(calls.filter((c) => c.op === 'find_object_association')).toHaveLength(3);
    expect(s.checkColumns(['bk_obj_asst_id', 'bk_obj_id', 'bk_inst_id', 'bk_asst_inst_id'])).toEqual([]);
    expect(s.checkColumns(['bk_inst_id', 'bk_asst_inst_id']).map((e) => e.message)).toEqual(['no association kind: give --asst-id or a bk_obj_asst_id column']);
  });

  it('JSON records may name the target key either way; both ends are resolved', async () => {
    const { api } = fakeApi(answer);
    const s = await associate.setup(ctx(api, { asstId: 'bk_switch_connect_host', key: 'bk_asset_id', asstKey: 'bk_host_innerip' }, { format: 'json' }));
    const rows = [
      s.check(rec(1, { bk_asset_id: 'SW-1', asst_bk_host_innerip: '10.0.0.7' })),
      s.check(rec(2, { bk_asset_id: 'SW-1', bk_asst_host_innerip: '10.0.0.7' })),
      s.check(rec(3, { bk_asset_id: 'SW-9', bk_asst_host_innerip: '10.0.0.9' })),
      s.check(rec(4, { bk_asset_id: 'SW-1', bk_inst_id: 1001, asst_bk_host_innerip: '10.0.0.7' })),
    ];
    await s.resolve!(rows);
    expect(rows[0]).toMatchObject({ payload: { bk_inst_id: 1001, bk_asst_inst_id: 7 }, errors: [], detail: 'bk_asset_id SW-1 → 1001; asst_bk_host_innerip 10.0.0.7 → 7' });
    expect(rows[1]).toMatchObject({ payload: { bk_inst_id: 1001, bk_asst_inst_id: 7 }, errors: [] });
    expect(rows[2]!.errors.map((e) => e.message)).toEqual([
      'bk_asset_id: no bk_switch instance has bk_asset_id "SW-9"',
      'bk_asst_host_innerip: no host instance has bk_host_innerip "10.0.0.9"',
    ]);
    expect(rows[3]!.errors.map((e) => e.message)).toEqual(['column "bk_inst_id" cannot be used with --key bk_asset_id: the source is named by bk_asset_id; drop one of them']);
  });

  it('instances of a built-in model other than host cannot be named by a field (search_object_instances refuses them)', async () => {
    const kinds = (op: string, body: Record<string, any>): Partial<CmdbEnvelope> =>
      op === 'find_object_association' ? { data: [{ bk_obj_asst_id: 'bk_switch_run_biz', bk_obj_id: 'bk_switch', bk_asst_obj_id: 'biz', mapping: 'n:n' }] } : answer(op, body);
    const { api, calls } = fakeApi(kinds);
    await expect(associate.setup(ctx(api, { asstId: 'bk_switch_run_biz', asstKey: 'bk_biz_name' }))).rejects.toThrow(/--asst-key bk_biz_name: biz instances cannot be looked up by a field \(search_object_instances refuses built-in models, code 1199084\); name them by id/);
    expect(calls.map((c) => c.op)).toEqual(['find_object_association']);
  });

  it('--obj that contradicts the kind, and a key that is not a field, stop the run', async () => {
    await expect(associate.setup(ctx(fakeApi(answer).api, { asstId: 'bk_switch_connect_host', obj: 'bk_firewall' }))).rejects.toThrow(/--obj bk_firewall does not match/);
    await expect(associate.setup(ctx(fakeApi(answer).api, { asstId: 'bk_switch_connect_host', asstKey: 'bk_host_ip' }))).rejects.toThrow(/--asst-key bk_host_ip: host has no field "bk_host_ip"/);
    await expect(associate.setup(ctx(fakeApi(answer).api, { asstId: 'bk_nope_x' }))).rejects.toThrow(/does not exist/);
  });

  it('offline (no connection): kinds from --obj / --asst-obj, keys not resolved, no request', async () => {
    const s = await associate.setup(ctx(undefined, { asstId: 'bk_switch_connect_host', obj: 'bk_switch', asstObj: 'host', noSchema: true, key: 'bk_asset_id' }, { columns: ['bk_asset_id', 'bk_asst_inst_id'] }));
    const rows = [s.check(rec(1, { bk_asset_id: 'SW-1', bk_asst_inst_id: '7' }))];
    await s.resolve!(rows);
    expect(rows[0]).toMatchObject({ errors: [], payload: { bk_inst_id: 'SW-1', bk_asst_inst_id: 7 } });
    expect(s.describe!()).toContain('keys not resolved: no server connection');
  });
});
