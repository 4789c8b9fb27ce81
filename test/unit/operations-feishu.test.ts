/**
 * The Feishu records operations without a server: row checks, the request bodies (records as a JSON string, ids as
 * an array), items mapped back to rows, whole-request refusals, and the --key look-up for unclear creates.
 */
import { describe, expect, it } from 'vitest';
import type { InputRecord } from '../../src/core/types.js';
import type { FeishuApi, FeishuEnvelope, FeishuRecordsOp } from '../../src/http/feishu.js';
import type { InputSource } from '../../src/input/index.js';
import { apaasCreate, apaasDelete, apaasUpdate } from '../../src/operations/feishu/records.js';
import type { CheckedRow, Operation, OperationContext, OperationOptions, Session } from '../../src/operations/types.js';
import { headerProblems } from '../../src/pipeline/rows.js';

type Call = { op: FeishuRecordsOp; ns: string; obj: string; body: Record<string, any>; idempotent: boolean };

function fakeApi(answer: (call: Call) => Partial<FeishuEnvelope>) {
  const calls: Call[] = [];
  const api = {
    async records(op: FeishuRecordsOp, ns: string, obj: string, body: Record<string, any>, o: { idempotent: boolean }) {
      const call = { op, ns, obj, body, idempotent: o.idempotent };
      calls.push(call);
      const env = { code: 0, msg: 'success', data: null, status: 200, ...answer(call) };
      return { ...env, ok: env.code === 0 } as FeishuEnvelope;
    },
  } as unknown as FeishuApi;
  return { api, calls };
}

const signal = new AbortController().signal;
const rec = (row: number, values: Record<string, unknown>): InputRecord => ({ row, line: row + 1, values }) as InputRecord;

async function session(op: Operation, api: FeishuApi | undefined, options: Partial<OperationOptions> = {}, source: Partial<InputSource> = {}): Promise<Session> {
  const ctx: OperationContext = {
    feishu: api,
    options: { noSchema: false, empty: 'omit', namespace: 'package_demo__c', object: 'device', ...options },
    source: { file: 'x', path: 'x', format: 'ndjson', columns: null, hints: {}, ...source } as InputSource,
    info: () => {},
    signal,
  };
  return op.setup(ctx);
}

const good = (s: Session, ...recs: InputRecord[]): CheckedRow[] =>
  recs.map((r) => {
    const c = s.check(r);
    expect(c.errors).toEqual([]);
    return c;
  });

describe('apaas-update', () => {
  it('checks rows: _id required (string or whole number), something to change', async () => {
    const s = await session(apaasUpdate, undefined);
    expect(s.check(rec(1, { _id: 1798681438085001, status: 'x' })).payload).toEqual({ _id: '1798681438085001', status: 'x' });
    expect(s.check(rec(2, { status: 'x' })).errors[0]!.message).toMatch(/_id is required/);
    expect(s.check(rec(3, { _id: '  ', status: 'x' })).errors[0]!.message).toMatch(/_id is required/);
    expect(s.check(rec(4, { _id: 1.5, status: 'x' })).errors[0]!.message).toMatch(/_id is required/);
    expect(s.check(rec(5, { _id: 'a' })).errors[0]!.message).toMatch(/nothing to update/);
    expect(headerProblems(s, ['status'])[0]!.message).toMatch(/column "_id" is missing/);
  });

  it('CSV type hints coerce the cells; JSON values are sent as they are', async () => {
    const csv = await session(apaasUpdate, undefined, {}, { format: 'csv', columns: ['_id', 'n', 'b', 'j', 's'], hints: { n: 'int', b: 'bool', j: 'json' } });
    expect(csv.check(rec(1, { _id: '7', n: '48', b: 'yes', j: '{"a":[1]}', s: '48' })).payload).toEqual({ _id: '7', n: 48, b: true, j: { a: [1] }, s: '48' });
    expect(csv.check(rec(2, { _id: '7', n: 'x' })).errors[0]!.message).toMatch(/^n: /);
    const json = await session(apaasUpdate, undefined);
    expect(json.check(rec(1, { _id: '7', n: '48', o: { a: 1 } })).payload).toEqual({ _id: '7', n: '48', o: { a: 1 } });
  });

  it('sends records as a JSON string and maps items[i] back to row i, every error of a failed item kept', async () => {
    const { api, calls } = fakeApi(() => ({
      data: {
        items: [
          { success: true, id: '1', errors: [] },
          {
            success: false,
            id: '2',
            errors: [
              { code: 'k_ec_000004', message: 'field value invalid: a', sub_code: '', fields: ['a'] },
              { code: 'k_ec_000009', message: 'no permission', sub_code: 'perm_x', fields: ['b', 'c'] },
            ],
          },
          { success: true, id: '3', errors: [] },
        ],
      },
    }));
    const s = await session(apaasUpdate, api);
    const rows = good(s, rec(1, { _id: '1', a: 1 }), rec(2, { _id: '2', a: 2 }), rec(3, { _id: '3', a: 3 }));
    const v = await s.send(rows, signal);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ op: 'batch_update', ns: 'package_demo__c', obj: 'device', idempotent: true });
    expect(typeof calls[0]!.body.records).toBe('string');
    expect(JSON.parse(calls[0]!.body.records)).toEqual([{ _id: '1', a: 1 }, { _id: '2', a: 2 }, { _id: '3', a: 3 }]);
    expect(v).toEqual({
      kind: 'rows',
      results: [
        { ok: true, id: '1' },
        { ok: false, code: 'k_ec_000004', error: 'k_ec_000004: field value invalid: a (fields: a); k_ec_000009: no permission [perm_x] (fields: b, c)' },
        { ok: true, id: '3' },
      ],
    });
  });

  it('fewer items than records: the missing ones are failed, not ok', async () => {
    const { api } = fakeApi(() => ({ data: { items: [{ success: true, id: '1' }] } }));
    const s = await session(apaasUpdate, api);
    const v = await s.send(good(s, rec(1, { _id: '1', a: 1 }), rec(2, { _id: '2', a: 2 })), signal);
    expect(v.kind === 'rows' && v.results[1]).toMatchObject({ ok: false, code: 'protocol' });
  });

  it('400 / 2320001 on the whole request is splittable and says what the server said; other codes are not', async () => {
    let answer: Partial<FeishuEnvelope> = { code: 2320001, msg: 'param is invalid', status: 400 };
    const { api } = fakeApi(() => answer);
    const s = await session(apaasUpdate, api);
    const rows = good(s, rec(1, { _id: '1', a: 1 }));
    expect(await s.send(rows, signal)).toEqual({ kind: 'rejected', code: 2320001, message: 'param is invalid (code 2320001)', splittable: true });
    answer = { code: 1254000, msg: 'something else', status: 200 };
    expect(await s.send(rows, signal)).toMatchObject({ kind: 'rejected', code: 1254000, splittable: false });
  });
});

describe('apaas-delete', () => {
  it('sends ids as a real array; other columns are not sent', async () => {
    const { api, calls } = fakeApi(() => ({ data: { items: [{ success: true, id: '1' }, { success: true, id: '2' }] } }));
    const s = await session(apaasDelete, api);
    const rows = good(s, rec(1, { _id: '1', name: 'x' }), rec(2, { _id: 2 }));
    await s.send(rows, signal);
    // Not idempotent for the sender: an unclear answer comes back to the pipeline, which reconciles it.
    expect(calls[0]).toMatchObject({ op: 'batch_delete', body: { ids: ['1', '2'] }, idempotent: false });
    expect(s.check(rec(3, { name: 'x' })).errors[0]!.message).toMatch(/_id is required/);
  });

  it('reconciles an unclear delete by _id through batch_query: gone → applied, still there → not applied', async () => {
    const { api, calls } = fakeApi(({ op }) => (op === 'batch_query' ? { data: { items: [{ _id: '2' }], has_more: false } } : {}));
    const s = await session(apaasDelete, api);
    expect(apaasDelete.unclear).toBe('reconcile');
    const rows = good(s, rec(1, { _id: '1' }), rec(2, { _id: '2' }));
    expect(await s.reconcile!(rows, signal)).toEqual([{ state: 'applied', id: '1' }, { state: 'not-applied' }]);
    expect(calls[0]!.body).toMatchObject({ select: ['_id'] });
    expect(JSON.parse(calls[0]!.body.filter.conditions[0].left.settings)).toEqual({ fieldPath: [{ fieldApiName: '_id', objectApiName: 'device' }] });
    expect(JSON.parse(calls[0]!.body.filter.conditions[0].right.settings)).toEqual({ data: ['1', '2'] });
  });

  it('a look-up that fails throws: the pipeline reports the rows "outcome unknown"', async () => {
    const { api } = fakeApi(() => ({ code: 2320001, msg: 'param is invalid', status: 400 }));
    const s = await session(apaasDelete, api);
    await expect(s.reconcile!(good(s, rec(1, { _id: '1' })), signal)).rejects.toThrow(/param is invalid \(code 2320001\)/);
  });
});

describe('apaas-create', () => {
  it('sends records as a JSON string, not idempotent, ids of the new records in the results', async () => {
    const { api, calls } = fakeApi(() => ({ data: { items: [{ success: true, id: '1798681438085051' }] } }));
    const s = await session(apaasCreate, api);
    expect(s.reconcile).toBeUndefined(); // no --key: nothing to check unclear answers by
    const v = await s.send(good(s, rec(1, { name: 'a', serial_no: 'S-1' })), signal);
    expect(calls[0]).toMatchObject({ op: 'batch_create', idempotent: false });
    expect(JSON.parse(calls[0]!.body.records)).toEqual([{ name: 'a', serial_no: 'S-1' }]);
    expect(v).toEqual({ kind: 'rows', results: [{ ok: true, id: '1798681438085051' }] });
    expect(s.check(rec(2, {})).errors[0]!.message).toMatch(/empty record/);
  });

  it('--key: unclear creates are reconciled with batch_query (isAnyOf, paged): found once → applied, absent → not applied, else unknown', async () => {
    const stored = [
      { _id: '11', serial_no: 'S-1' },
      { _id: '12', serial_no: 'S-3' },
      { _id: '13', serial_no: 'S-3' }, // two records with one value: cannot tell which is ours
    ];
    const { api, calls } = fakeApi(({ op, body }) => {
      if (op !== 'batch_query') return {};
      const wanted: unknown[] = JSON.parse(body.filter.conditions[0].right.settings).data;
      const hits = stored.filter((r) => wanted.includes(r.serial_no));
      const start = body.page_token ? Number(body.page_token) : 0;
      const page = hits.slice(start, start + 2); // pages of two, to exercise paging
      const more = start + 2 < hits.length;
      // FeishuApi has already parsed the JSON string the server sends in `items` (http/feishu.ts FEISHU_ANSWERS).
      return { data: { items: page, has_more: more, next_page_token: more ? String(start + 2) : '' } };
    });
    const s = await session(apaasCreate, api, { key: 'serial_no' });
    expect(s.uniqueKey).toBe('serial_no');
    const rows = good(s, rec(1, { serial_no: 'S-1' }), rec(2, { serial_no: 'S-2' }), rec(3, { serial_no: 'S-3' }));
    expect(await s.reconcile!(rows, signal)).toEqual([
      { state: 'applied', id: '11', created: true },
      { state: 'not-applied' },
      { state: 'unknown', why: '2 records have serial_no "S-3"' },
    ]);
    expect(s.check(rec(4, { name: 'no key' })).errors[0]!.message).toMatch(/serial_no is empty/);
    const queries = calls.filter((c) => c.op === 'batch_query');
    expect(queries).toHaveLength(2);
    expect(queries[0]!.body).toMatchObject({ select: ['_id', 'serial_no'], page_size: 500, use_page_token: true });
    expect(queries[1]!.body).toMatchObject({ page_token: '2', use_page_token: true });
    expect(queries[0]!.body.filter).toMatchObject({ logic_expression: '1', conditions: [{ index: '1', operator: 'isAnyOf' }] });
    expect(JSON.parse(queries[0]!.body.filter.conditions[0].left.settings)).toEqual({ fieldPath: [{ fieldApiName: 'serial_no', objectApiName: 'device' }] });
    expect(queries.every((q) => q.idempotent)).toBe(true);
    expect(headerProblems(s, ['name'])[0]!.message).toMatch(/column "serial_no" is missing: with --key it tells whether the record exists/);
  });

  it('a failed look-up throws (the pipeline then reports the rows "outcome unknown")', async () => {
    const { api } = fakeApi(() => ({ code: 2320001, msg: 'param is invalid: filter', status: 400 }));
    const s = await session(apaasCreate, api, { key: 'serial_no' });
    await expect(s.reconcile!(good(s, rec(1, { serial_no: 'S-1' })), signal)).rejects.toThrow(/param is invalid: filter \(code 2320001\)/);
  });
});

describe('setup', () => {
  it('--namespace and --object are required', async () => {
    await expect(session(apaasUpdate, undefined, { namespace: undefined })).rejects.toThrow(/--namespace and --object are required/);
  });
});
