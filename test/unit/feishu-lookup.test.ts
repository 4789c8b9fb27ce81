/**
 * aPaaS look-ups trust only answers that prove themselves (records match the filter, tokens move, pages end), item
 * ids are checked on update and delete, aPaaS value hints give the JSON the records API takes.
 */
import { describe, expect, it } from 'vitest';
import { FEISHU_ANSWERS, type FeishuApi, type FeishuEnvelope, type FeishuRecordsOp } from '../../src/http/feishu.js';
import { LookupError, MAX_PAGES, RecordFinder, VALUES_PER_QUERY } from '../../src/operations/feishu/lookup.js';
import { apaasCreate, apaasDelete, apaasUpdate } from '../../src/operations/feishu/records.js';
import { AmbiguousWriteError } from '../../src/http/sender.js';
import { apaasValue, dateTimeMs } from '../../src/operations/feishu/values.js';
import type { InputRecord } from '../../src/core/types.js';
import type { InputSource } from '../../src/input/index.js';
import type { Operation, OperationContext } from '../../src/operations/types.js';
import { headerProblems } from '../../src/pipeline/rows.js';

type Body = Record<string, any>;
const signal = new AbortController().signal;

function fakeApi(answer: (op: FeishuRecordsOp, body: Body, n: number) => Partial<FeishuEnvelope>) {
  const calls: Array<{ op: FeishuRecordsOp; body: Body }> = [];
  const api = {
    async records(op: FeishuRecordsOp, _ns: string, _obj: string, body: Body) {
      calls.push({ op, body });
      const env = { code: 0, msg: 'success', data: null, status: 200, ...answer(op, body, calls.length) };
      // What FeishuApi.records hands on: a code-0 answer's data read by the operation's schema (items parsed).
      return (env.code === 0 ? { ...env, ok: true, data: FEISHU_ANSWERS[op].data.parse(env.data) } : { ...env, ok: false, data: null }) as FeishuEnvelope;
    },
  } as unknown as FeishuApi;
  return { api, calls };
}
const wanted = (body: Body): unknown[] => JSON.parse(body.filter.conditions[0].right.settings).data;
const page = (items: unknown[], more = false, token?: string) => ({ data: { items: JSON.stringify(items), has_more: more, ...(token !== undefined ? { next_page_token: token } : {}) } });

describe('RecordFinder', () => {
  it('maps each value to the ids holding it, in chunks of VALUES_PER_QUERY values, cached when asked to', async () => {
    const values = Array.from({ length: VALUES_PER_QUERY + 1 }, (_, i) => `S${i}`);
    const stored = new Set(values);
    const { api, calls } = fakeApi((_op, body) => page(wanted(body).filter((v) => stored.has(v as string)).map((v) => ({ _id: `id-${v}`, serial: v }))));
    const f = new RecordFinder(api, 'ns', 'obj', 'serial', true);
    const got = await f.lookup([...values, 'none', ' S0 '], signal);
    expect(calls).toHaveLength(2);
    expect(wanted(calls[0]!.body).slice(0, 2)).toEqual(['S0', ' S0 ']); // as sent, and trimmed
    expect(got.get('S0')).toEqual(['id-S0']);
    expect(got.get('none')).toEqual([]);
    await f.lookup(['S1', 'none'], signal);
    expect(calls).toHaveLength(2); // cached
  });

  it('a record whose key was not asked for means the filter was ignored: nothing is concluded', async () => {
    const { api } = fakeApi(() => page([{ _id: '1', serial: 'S-1' }, { _id: '2', serial: 'other' }]));
    await expect(new RecordFinder(api, 'ns', 'obj', 'serial', false).lookup(['S-1'], signal)).rejects.toThrow(/was not asked for, so it did not apply the filter/);
    const { api: noId } = fakeApi(() => page([{ serial: 'S-1' }]));
    await expect(new RecordFinder(noId, 'ns', 'obj', 'serial', false).lookup(['S-1'], signal)).rejects.toThrow(LookupError);
  });

  it('has_more with the same token, or without a token, stops the look-up (it would read page one forever)', async () => {
    const same = fakeApi((_op, body) => page([{ _id: body.page_token ? '2' : '1', serial: 'S' }], true, 'tok'));
    await expect(new RecordFinder(same.api, 'ns', 'obj', 'serial', false).lookup(['S'], signal)).rejects.toThrow(/hands back the same page token/);
    expect(same.calls).toHaveLength(2);
    const none = fakeApi(() => page([{ _id: '1', serial: 'S' }], true));
    await expect(new RecordFinder(none.api, 'ns', 'obj', 'serial', false).lookup(['S'], signal)).rejects.toThrow(/gives no next_page_token/);
  });

  it('pages are bounded', async () => {
    const { api, calls } = fakeApi((_op, _body, n) => page([{ _id: String(n), serial: 'S' }], true, `t${n}`));
    await expect(new RecordFinder(api, 'ns', 'obj', 'serial', false).lookup(['S'], signal)).rejects.toThrow(/is serial unique per record/);
    expect(calls).toHaveLength(MAX_PAGES);
  });

  it('a refused query throws with the server message', async () => {
    const { api } = fakeApi(() => ({ code: 2320001, msg: 'param is invalid', status: 400 }));
    await expect(new RecordFinder(api, 'ns', 'obj', 'serial', false).lookup(['S'], signal)).rejects.toThrow(/param is invalid \(code 2320001\)/);
  });
});

const rec = (row: number, values: Record<string, unknown>): InputRecord => ({ row, line: row + 1, values }) as InputRecord;
function ctx(api: FeishuApi | undefined, key?: string, source: Partial<InputSource> = {}): OperationContext {
  return {
    feishu: api,
    options: { noSchema: false, empty: 'omit', namespace: 'ns', object: 'obj', key },
    source: { file: 'x', path: 'x', format: 'ndjson', columns: null, hints: {}, ...source } as InputSource,
    info: () => {},
    signal,
  };
}

describe('item ids on update and delete', () => {
  for (const op of [apaasUpdate, apaasDelete] as Operation[]) {
    it(`${op.command}: a successful item naming another record is a protocol error for that row`, async () => {
      const { api } = fakeApi(() => ({ data: { items: [{ success: true, id: '1' }, { success: true, id: '9' }, { success: true }] } }));
      const s = await op.setup(ctx(api));
      const rows = [rec(1, { _id: '1', a: 1 }), rec(2, { _id: '2', a: 1 }), rec(3, { _id: '3', a: 1 })].map((r) => s.check(r));
      const v = await s.send(rows, signal);
      expect(v.kind === 'rows' && v.results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['ok', 'protocol', 'protocol']);
      expect(v.kind === 'rows' && !v.results[1]!.ok && v.results[1]!.error).toMatch(/names record 9/);
    });
  }
});

describe('--key on update and delete', () => {
  it('resolves the key to _id (not sent as a field); none or several → the row is invalid with the reason', async () => {
    const stored = [{ _id: '11', serial: 'A' }, { _id: '12', serial: 'B' }, { _id: '13', serial: 'B' }];
    const { api } = fakeApi((op, body) => (op === 'batch_query' ? page(stored.filter((r) => wanted(body).includes(r.serial))) : {}));
    const s = await apaasUpdate.setup(ctx(api, 'serial'));
    const rows = [rec(1, { serial: 'A', status: 'x' }), rec(2, { serial: 'B', status: 'x' }), rec(3, { serial: 'C', status: 'x' }), rec(4, { serial: 'A', _id: '12', status: 'x' })].map((r) => s.check(r));
    await s.resolve!(rows);
    expect(rows[0]).toMatchObject({ payload: { _id: '11', status: 'x' }, errors: [], detail: 'serial "A" → _id 11' });
    expect(rows[1]!.errors[0]!.message).toMatch(/2 obj records have serial "B" \(_id 12, 13\)/);
    expect(rows[2]!.errors[0]!.message).toMatch(/no obj record has serial "C"/);
    expect(rows[3]!.errors[0]!.message).toMatch(/_id 12 is not the record whose serial is "A"/);
    expect(headerProblems(s, ['status'])[0]!.message).toMatch(/column "serial" is missing: every row must name the record to update \(--key\)/);
    // A key column with an aPaaS hint still only names the record.
    const hintedKey = await apaasUpdate.setup(ctx(api, 'serial', { format: 'csv', columns: ['serial', 'n'], hints: { serial: 'bigint', n: 'bigint' } }));
    const h = [hintedKey.check(rec(1, { serial: 'A', n: '5' }))];
    await hintedKey.resolve!(h);
    expect(h[0]!.payload).toEqual({ _id: '11', n: '5' });
    const d = await apaasDelete.setup(ctx(api, 'serial'));
    const del = [d.check(rec(1, { serial: 'A' }))];
    await d.resolve!(del);
    expect(del[0]!.payload).toEqual({ _id: '11' });
  });
});

describe('apaas-create --key', () => {
  it('existing keys are not sent; after an unclear answer the others are settled by a fresh look-up', async () => {
    const stored = [{ _id: '11', serial: 'OLD' }];
    let creates = 0;
    const calls: string[] = [];
    const api = {
      async records(op: FeishuRecordsOp, _ns: string, _obj: string, body: Body) {
        calls.push(op);
        if (op === 'batch_query') {
          return { ok: true, code: 0, msg: '', status: 200, data: { items: stored.filter((r) => wanted(body).includes(r.serial)), has_more: false } };
        }
        creates++;
        expect(JSON.parse(body.records).map((r: Body) => r.serial)).toEqual(['NEW-1', 'NEW-2']);
        stored.push({ _id: '21', serial: 'NEW-1' }); // applied in part, then the answer was lost
        throw new AmbiguousWriteError('HTTP 504');
      },
    } as unknown as FeishuApi;
    const s = await apaasCreate.setup(ctx(api, 'serial'));
    const rows = [rec(1, { serial: 'NEW-1' }), rec(2, { serial: 'OLD' }), rec(3, { serial: 'NEW-2' })].map((r) => s.check(r));
    const v = await s.send(rows, signal);
    expect(creates).toBe(1);
    expect(calls).toEqual(['batch_query', 'batch_create', 'batch_query']);
    expect(v.kind === 'rows' && v.results).toEqual([
      { ok: true, id: '21', detail: 'found on the server after an unclear answer (HTTP 504)' },
      { ok: false, code: 'already_exists', error: expect.stringMatching(/^already exists \(serial "OLD" → _id 11\); not created\. Next: .*apaas-update --key serial$/) },
      { ok: false, code: 'not_created', error: expect.stringMatching(/not created; send it again/) },
    ]);
  });

  it('with every key absent an unclear answer goes to the pipeline (reconcile) as before', async () => {
    const api = {
      async records(op: FeishuRecordsOp) {
        if (op === 'batch_query') return { ok: true, code: 0, msg: '', status: 200, data: { items: [], has_more: false } };
        throw new AmbiguousWriteError('HTTP 504');
      },
    } as unknown as FeishuApi;
    const s = await apaasCreate.setup(ctx(api, 'serial'));
    await expect(s.send([s.check(rec(1, { serial: 'A' }))], signal)).rejects.toBeInstanceOf(AmbiguousWriteError);
  });
});

describe('aPaaS value hints', () => {
  it('integer and decimal as strings, lookups as {_id}, multi-select as string lists, multilingual', () => {
    expect(apaasValue('bigint', '+42')).toEqual({ value: '42' });
    expect(apaasValue('bigint', '4.2').error).toMatch(/whole number/);
    expect(apaasValue('decimal', '12.50')).toEqual({ value: '12.50' });
    expect(apaasValue('decimal', '1e3').error).toBeDefined();
    expect(apaasValue('lookup', '1798681438085001')).toEqual({ value: { _id: '1798681438085001' } });
    expect(apaasValue('lookup', 'abc').error).toBeDefined();
    expect(apaasValue('multiselect', 'opt_a; opt_b|opt_c')).toEqual({ value: ['opt_a', 'opt_b', 'opt_c'] });
    expect(apaasValue('multiselect', '["a","b"]')).toEqual({ value: ['a', 'b'] });
    expect(apaasValue('multiselect', '[1]').error).toBeDefined();
    expect(apaasValue('multilingual', '交换机')).toEqual({ value: { zh_CN: '交换机', en_US: '交换机' } });
    expect(apaasValue('multilingual', '{"zh_CN":"交换机","en_US":"Switch"}')).toEqual({ value: { zh_CN: '交换机', en_US: 'Switch' } });
    expect(apaasValue('multilingual', '{"fr":"x"}').error).toBeDefined();
  });

  it('date-times become ms timestamps: local time, or with Z / an offset; impossible dates refused', () => {
    expect(dateTimeMs('2024-06-01T08:30:00Z')).toEqual({ value: Date.UTC(2024, 5, 1, 8, 30, 0) });
    expect(dateTimeMs('2024-06-01 16:30 +08:00')).toEqual({ value: Date.UTC(2024, 5, 1, 8, 30, 0) });
    expect(dateTimeMs('2024-06-01')).toEqual({ value: new Date(2024, 5, 1).getTime() });
    expect(dateTimeMs('2024-06-01 09:05')).toEqual({ value: new Date(2024, 5, 1, 9, 5).getTime() });
    expect(dateTimeMs('2024-02-30').error).toMatch(/not a real date-time/);
    expect(dateTimeMs('2024-06-01 24:00').error).toMatch(/not a real date-time/);
    expect(dateTimeMs('01/06/2024').error).toMatch(/expected a date-time/);
    expect(apaasValue('datetime', '1717230600000')).toEqual({ value: 1717230600000 });
  });

  it('apaas-update sends hinted CSV cells as aPaaS values; a bad cell makes the row invalid', async () => {
    const hints = { n: 'bigint', d: 'datetime', m: 'multiselect', l: 'lookup', t: 'multilingual', p: 'decimal', i: 'int' } as const;
    const s = await apaasUpdate.setup(ctx(undefined, undefined, { format: 'csv', columns: ['_id', ...Object.keys(hints)], hints }));
    const row = s.check(rec(1, { _id: '7', n: '5', d: '2024-06-01T00:00:00Z', m: 'a,b', l: '123', t: 'x', p: '0.5', i: '3' }));
    expect(row.errors).toEqual([]);
    expect(row.payload).toEqual({ _id: '7', n: '5', d: Date.UTC(2024, 5, 1), m: ['a', 'b'], l: { _id: '123' }, t: { zh_CN: 'x', en_US: 'x' }, p: '0.5', i: 3 });
    const bad = s.check(rec(2, { _id: '7', n: 'five', d: '' }));
    expect(bad.errors.map((e) => e.field)).toEqual(['n']);
    expect(bad.payload).not.toHaveProperty('d');
  });
});
