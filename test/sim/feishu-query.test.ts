/**
 * The simulator's batch_query is as strict as the documented API (docs/simulator.md, "batch_query"): select
 * required, conditions carry the index logic_expression names, the documented operators, page_size ≤ 500, page
 * tokens only with use_page_token, order_by, total only with need_total_count.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { QUERY_OPERATORS } from '../../src/sim/feishu-query.js';
import { feishuToken, records } from './helpers.js';

let sim: Simulator;
let token: string;
beforeAll(async () => {
  sim = await startSimulator({ feishuWindows: false });
});
afterAll(() => sim.close());
beforeEach(async () => {
  sim.reset();
  token = await feishuToken(sim);
});

const NS = 'ns_q__c';
const OBJ = 'asset';
const cond = (index: string | undefined, field: string, operator: string, data?: unknown) => ({
  ...(index === undefined ? {} : { index }),
  left: { type: 'metadataVariable', settings: JSON.stringify({ fieldPath: [{ fieldApiName: field, objectApiName: OBJ }] }) },
  operator,
  ...(data === undefined ? {} : { right: { type: 'constant', settings: JSON.stringify({ data }) } }),
});
const query = (body: unknown) => records(sim, token, 'batch_query', body, NS, OBJ);
const refused = async (body: unknown) => {
  const r = await query(body);
  return [r.status, r.json.code, r.json.msg as string] as const;
};
const names = (r: { json: { data: { items: string } } }) => (JSON.parse(r.json.data.items) as Array<{ name: string }>).map((x) => x.name);

function seed() {
  const t = sim.store.table(NS, OBJ);
  const add = (name: string, fields: Record<string, unknown>) => {
    const id = String(sim.store.nextFeishuId++);
    t.set(id, { _id: id, name, ...fields });
  };
  add('a', { size: '5', tags: ['red', 'blue'], at: 1_700_000_000_000 });
  add('b', { size: '12', tags: ['green'], at: 1_700_000_100_000 });
  add('c', { size: '7', tags: [], at: 1_700_000_200_000, note: 'spare' });
  add('d', { size: '30', tags: ['red'] });
}

describe('batch_query strictness', () => {
  beforeEach(seed);

  it('select is required (absent or empty → 400 / 2320001)', async () => {
    expect(await refused({ page_size: 10 })).toEqual([400, 2320001, expect.stringContaining('select is required')]);
    expect((await refused({ select: [], page_size: 10 }))[1]).toBe(2320001);
    const ok = await query({ select: ['name'] });
    expect(ok.json.code).toBe(0);
    expect(JSON.parse(ok.json.data.items)).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }]);
  });

  it('each condition needs an index; logic_expression may only name indexes that exist', async () => {
    const noIndex = await refused({ select: ['name'], filter: { conditions: [cond(undefined, 'name', 'equals', 'a')], logic_expression: '1' } });
    expect(noIndex).toEqual([400, 2320001, expect.stringContaining('index is missing')]);
    const numberIndex = await refused({ select: ['name'], filter: { conditions: [{ ...cond('1', 'name', 'equals', 'a'), index: 1 }], logic_expression: '1' } });
    expect(numberIndex[1]).toBe(2320001);
    const dangling = await refused({ select: ['name'], filter: { conditions: [cond('1', 'name', 'equals', 'a')], logic_expression: '1 and 2' } });
    expect(dangling).toEqual([400, 2320001, expect.stringContaining('names condition 2')]);
    const twice = await refused({ select: ['name'], filter: { conditions: [cond('1', 'name', 'equals', 'a'), cond('1', 'name', 'equals', 'b')], logic_expression: '1 or 1' } });
    expect(twice[1]).toBe(2320001);
    const malformed = await refused({ select: ['name'], filter: { conditions: [cond('1', 'name', 'equals', 'a')], logic_expression: '1 and' } });
    expect(malformed[1]).toBe(2320001);
    // Indexes need not be 1..n: the expression names them.
    const r = await query({ select: ['name'], filter: { conditions: [cond('7', 'name', 'equals', 'a'), cond('3', 'name', 'equals', 'c')], logic_expression: '7 OR 3' } });
    expect(names(r)).toEqual(['a', 'c']);
  });

  it('an operator that is not documented, or a left/right of another type, is refused', async () => {
    expect((await refused({ select: ['name'], filter: { conditions: [cond('1', 'name', 'in', ['a'])], logic_expression: '1' } }))[1]).toBe(2320001);
    expect((await refused({ select: ['name'], filter: { conditions: [cond('1', 'name', 'eq', 'a')], logic_expression: '1' } }))[1]).toBe(2320001);
    const leftConstant = { ...cond('1', 'name', 'equals', 'a'), left: { type: 'constant', settings: '{"data":"x"}' } };
    expect((await refused({ select: ['name'], filter: { conditions: [leftConstant], logic_expression: '1' } }))[1]).toBe(2320001);
    expect((await refused({ select: ['name'], filter: { conditions: [cond('1', 'name', 'isAnyOf', 'a')], logic_expression: '1' } }))[1]).toBe(2320001);
  });

  it('the documented operators filter as named', async () => {
    const q = async (operator: string, field: string, data?: unknown) =>
      names(await query({ select: ['name'], filter: { conditions: [cond('1', field, operator, data)], logic_expression: '1' } }));
    expect(await q('equals', 'size', '7')).toEqual(['c']);
    expect(await q('notEquals', 'name', 'a')).toEqual(['b', 'c', 'd']);
    expect(await q('greaterThan', 'size', '7')).toEqual(['b', 'd']); // whole-number strings compare as numbers
    expect(await q('greaterThanOrEquals', 'size', '7')).toEqual(['b', 'c', 'd']);
    expect(await q('lessThan', 'size', '7')).toEqual(['a']);
    expect(await q('lessThanOrEquals', 'size', '7')).toEqual(['a', 'c']);
    expect(await q('contains', 'note', 'par')).toEqual(['c']);
    expect(await q('notContains', 'name', 'a')).toEqual(['b', 'c', 'd']);
    expect(await q('isAnyOf', 'name', ['b', 'd', 'zz'])).toEqual(['b', 'd']);
    expect(await q('isNoneOf', 'name', ['b', 'd'])).toEqual(['a', 'c']);
    expect(await q('isEmpty', 'note')).toEqual(['a', 'b', 'd']);
    expect(await q('isNotEmpty', 'note')).toEqual(['c']);
    expect(await q('hasAnyOf', 'tags', ['red'])).toEqual(['a', 'd']);
    expect(await q('hasNoneOf', 'tags', ['red'])).toEqual(['b', 'c']);
    expect(await q('isOnOrBefore', 'at', 1_700_000_100_000)).toEqual(['a', 'b']);
    expect(await q('isOnOrAfter', 'at', 1_700_000_100_000)).toEqual(['b', 'c']);
    expect(QUERY_OPERATORS).toHaveLength(16);
  });

  it('page_size is 1..500 (default 500); offset pages without a token', async () => {
    expect((await refused({ select: ['name'], page_size: 501 }))[1]).toBe(2320001);
    expect((await refused({ select: ['name'], page_size: 0 }))[1]).toBe(2320001);
    const r = await query({ select: ['name'], page_size: 2, offset: 2 });
    expect(names(r)).toEqual(['c', 'd']);
    expect(r.json.data.has_more).toBe(false);
  });

  it('page_token is read and next_page_token returned only with use_page_token: true', async () => {
    const first = await query({ select: ['name'], page_size: 2 });
    expect(first.json.data.has_more).toBe(true);
    expect(first.json.data).not.toHaveProperty('next_page_token');
    const withToken = await query({ select: ['name'], page_size: 2, use_page_token: true });
    const tok = withToken.json.data.next_page_token as string;
    expect(tok).toBeTruthy();
    // A token without use_page_token is ignored: the first page again (a client looping on it never ends).
    expect(names(await query({ select: ['name'], page_size: 2, page_token: tok }))).toEqual(['a', 'b']);
    const second = await query({ select: ['name'], page_size: 2, page_token: tok, use_page_token: true });
    expect(names(second)).toEqual(['c', 'd']);
    expect(second.json.data.has_more).toBe(false);
    expect(second.json.data).not.toHaveProperty('next_page_token');
    expect((await refused({ select: ['name'], page_token: 'bogus', use_page_token: true }))[1]).toBe(2320001);
  });

  it('order_by sorts (several keys in order); a bad direction is refused; total only with need_total_count', async () => {
    const r = await query({ select: ['name'], order_by: [{ field: 'size', direction: 'DESC' }] });
    expect(names(r)).toEqual(['d', 'b', 'c', 'a']);
    expect(r.json.data).not.toHaveProperty('total');
    const two = await query({ select: ['name'], order_by: [{ field: 'note', direction: 'ASC' }, { field: 'name', direction: 'DESC' }], need_total_count: true });
    expect(names(two)).toEqual(['d', 'b', 'a', 'c']);
    expect(two.json.data.total).toBe(4);
    expect((await refused({ select: ['name'], order_by: [{ field: 'size', direction: 'down' }] }))[1]).toBe(2320001);
  });
});

/**
 * The request body exactly as the official Node SDK types it (larksuite/node-sdk code-gen/projects/apaas.ts,
 * applicationObjectRecord.batchQuery payload.data) and as the open-platform doc shows it.
 */
interface SdkBatchQueryData {
  select: Array<string>;
  filter?: {
    conditions?: Array<{
      index?: string;
      left?: { type?: string; settings?: string; display_names?: Array<string> };
      right?: { type?: string; settings?: string; display_names?: Array<string> };
      operator?: string;
    }>;
    logic_expression?: string;
  };
  order_by?: Array<{ field: string; direction: 'ASC' | 'DESC' }>;
  group_by?: Array<{ field: string }>;
  page_token?: string;
  use_page_token?: boolean;
  page_size?: number;
  offset?: number;
  need_total_count?: boolean;
}

describe('a request shaped by the official SDK', () => {
  beforeEach(seed);

  it('filters, sorts and pages with the SDK body shape', async () => {
    const data: SdkBatchQueryData = {
      select: ['_id', 'name', 'size'],
      filter: {
        conditions: [
          {
            index: '1',
            left: { type: 'metadataVariable', settings: JSON.stringify({ fieldPath: [{ fieldApiName: 'size', objectApiName: OBJ }] }) },
            right: { type: 'constant', settings: JSON.stringify({ data: '6' }) },
            operator: 'greaterThan',
          },
          {
            index: '2',
            left: { type: 'metadataVariable', settings: JSON.stringify({ fieldPath: [{ fieldApiName: 'name', objectApiName: OBJ }] }) },
            right: { type: 'constant', settings: JSON.stringify({ data: ['b', 'c', 'd'] }) },
            operator: 'isAnyOf',
          },
        ],
        logic_expression: '1 and 2',
      },
      order_by: [{ field: 'size', direction: 'ASC' }],
      page_size: 2,
      use_page_token: true,
      need_total_count: true,
    };
    const p1 = await query(data);
    expect(p1.json.code).toBe(0);
    expect(typeof p1.json.data.items).toBe('string');
    expect(JSON.parse(p1.json.data.items).map((r: { name: string; size: string }) => [r.name, r.size])).toEqual([['c', '7'], ['b', '12']]);
    expect(p1.json.data).toMatchObject({ has_more: true, total: 3 });
    const p2 = await query({ ...data, page_token: p1.json.data.next_page_token });
    expect(names(p2)).toEqual(['d']);
    expect(p2.json.data.has_more).toBe(false);
  });
});
