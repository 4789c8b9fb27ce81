/**
 * apaas-sync's pieces that the simulator cannot exercise on its own: the comparison of hinted aPaaS values with the
 * forms a server may read back, and --prune's check of the deletes the server refused (gone → deleted, still there
 * → kept, with the server's error).
 */
import { describe, expect, it } from 'vitest';
import { FEISHU_ANSWERS, type FeishuApi, type FeishuEnvelope, type FeishuRecordsOp } from '../../src/http/feishu.js';
import type { InputSource } from '../../src/input/index.js';
import { apaasPrune } from '../../src/operations/apaas-prune.js';
import { sameApaasValue } from '../../src/operations/feishu/values.js';
import { sameValue } from '../../src/operations/sync-compare.js';

type Body = Record<string, any>;

describe('sameApaasValue: a hinted value against the form the server reads back', () => {
  const same = (hint: Parameters<typeof sameApaasValue>[0], a: unknown, b: unknown) => sameApaasValue(hint, a, b, sameValue);
  it('integers, decimals and date-times as numbers, whether text or number', () => {
    expect(same('bigint', '16', 16)).toBe(true);
    expect(same('bigint', '16', '016')).toBe(true);
    expect(same('bigint', '16', '17')).toBe(false);
    expect(same('bigint', '9007199254740993', '9007199254740992')).toBe(false); // beyond doubles: compared as integers
    expect(same('decimal', '1299.50', '1299.5')).toBe(true);
    expect(same('decimal', '1299.50', 1299.5)).toBe(true);
    expect(same('decimal', '10', 'ten')).toBe(false);
    expect(same('datetime', 1717234200000, '1717234200000')).toBe(true);
    expect(same('datetime', 1717234200000, 1717234200001)).toBe(false);
  });
  it('a lookup by the _id it points to; multilingual by the languages the row gives; options as a set', () => {
    expect(same('lookup', { _id: '42' }, { _id: '42', _name: 'R42' })).toBe(true);
    expect(same('lookup', { _id: '42' }, { _id: 43 })).toBe(false);
    expect(same('multilingual', { zh_CN: '交换机' }, { zh_CN: '交换机', en_US: 'Switch' })).toBe(true);
    expect(same('multilingual', { zh_CN: 'a', en_US: 'a' }, { zh_CN: 'a', en_US: 'b' })).toBe(false);
    expect(same('multiselect', ['a', 'b'], ['b', 'a'])).toBe(true);
  });
  it('no value is no value, whatever the kind', () => {
    expect(same('bigint', null, undefined)).toBe(true);
    expect(same('lookup', null, { _id: '1' })).toBe(false);
  });
});

describe('apaasPrune', () => {
  // Stored: keep (named by the file), gone-1 (deleted), gone-2 (refused, then gone: someone else deleted it), held (refused, still there).
  const stored = [
    { _id: '1', serial: 'keep', status: 'on' },
    { _id: '2', serial: 'gone-1', status: 'on' },
    { _id: '3', serial: 'gone-2', status: 'on' },
    { _id: '4', serial: 'held', status: 'on' },
  ];
  function fakeApi() {
    const calls: Array<{ op: FeishuRecordsOp; body: Body }> = [];
    const live = new Map(stored.map((r) => [r._id, r]));
    const answer = (op: FeishuRecordsOp, body: Body) => {
      if (op === 'batch_delete') {
        live.delete('3'); // someone else deletes it meanwhile: our item fails "not found"
        const items = (body.ids as string[]).map((id) => (id === '2' && live.delete(id) ? { success: true, id } : { success: false, id, errors: [{ code: id === '4' ? 'k_ec_000016' : 'k_ec_000015', message: id === '4' ? 'no permission' : 'record not found' }] }));
        return { items };
      }
      const ids: unknown[] | undefined = body.filter ? JSON.parse(body.filter.conditions[0].right.settings).data : undefined;
      const items = [...live.values()].filter((r) => !ids || ids.includes(r._id));
      return { items: JSON.stringify(items), has_more: false };
    };
    const api = {
      async records(op: FeishuRecordsOp, _ns: string, _obj: string, body: Body) {
        calls.push({ op, body });
        return { code: 0, msg: 'success', status: 200, ok: true, data: FEISHU_ANSWERS[op].data.parse(answer(op, body)) } as FeishuEnvelope;
      },
    } as unknown as FeishuApi;
    return { api, calls };
  }
  const source = { columns: ['serial', 'status'], async *batches() { yield [{ row: 1, values: { serial: 'keep', status: 'on' } }]; } } as unknown as InputSource;

  it('deletes what the file does not name; a refused item is looked up: gone counts as deleted, still there is kept', async () => {
    const { api, calls } = fakeApi();
    const r = await apaasPrune({ api, ns: 'ns', obj: 'device', key: 'serial', source, dryRun: false, yes: true, reportPath: null, signal: new AbortController().signal });
    expect(r).toEqual({ candidates: 3, deleted: 2, kept: 1 });
    expect(calls.map((c) => c.op)).toEqual(['batch_query', 'batch_delete', 'batch_query']);
    expect(calls[0]!.body.select).toEqual(['_id', 'serial', 'status']);
    expect(calls[1]!.body).toEqual({ ids: ['2', '3', '4'] });
  });

  it('refuses without --yes when there is nobody to ask, and over --max-delete; sends no delete', async () => {
    const a = fakeApi();
    const noYes = await apaasPrune({ api: a.api, ns: 'ns', obj: 'device', key: 'serial', source, dryRun: false, yes: false, reportPath: null, signal: new AbortController().signal });
    expect(noYes.refused).toBe('deleting 3 device records needs --yes when the input is not a terminal: nothing deleted');
    const b = fakeApi();
    const capped = await apaasPrune({ api: b.api, ns: 'ns', obj: 'device', key: 'serial', source, dryRun: false, yes: true, maxDelete: 2, reportPath: null, signal: new AbortController().signal });
    expect(capped.refused).toContain('more than --max-delete 2');
    expect([...a.calls, ...b.calls].some((c) => c.op === 'batch_delete')).toBe(false);
  });
});
