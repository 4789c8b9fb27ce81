/** The simulator's host operations (src/sim/cmdb.ts): add_host_to_resource_pool and host look-ups, both front doors. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const add = (door: 'esb' | 'apigw', body: Record<string, unknown>) =>
  door === 'esb' ? esb(sim, 'add_host_to_resource_pool', body) : apigw(sim, 'POST', '/api/v3/hosts/add/resource', body);

describe.each(['esb', 'apigw'] as const)('add_host_to_resource_pool via %s', (door) => {
  it('creates each host and answers its index and bk_host_id; no error list when none failed', async () => {
    const r = await add(door, { host_info: [{ bk_host_innerip: '10.9.0.1', bk_cloud_id: 0, bk_host_name: ' a ' }, { bk_host_innerip: '10.9.0.2', bk_cloud_id: 0 }] });
    expect(r.json).toMatchObject({ result: true, code: 0 });
    const ids = r.json.data.success.map((s: { bk_host_id: number }) => s.bk_host_id);
    expect(r.json.data).toEqual({ success: [{ index: 0, bk_host_id: ids[0] }, { index: 1, bk_host_id: ids[1] }] });
    expect(sim.store.instance('host', ids[0])).toMatchObject({ bk_host_innerip: '10.9.0.1', bk_cloud_id: 0, bk_host_name: 'a' });
  });

  it('one bad host: result false, 1110004, and both lists in data; the good hosts stay created (no transaction)', async () => {
    const r = await add(door, { host_info: [
      { bk_host_innerip: '10.9.0.3', bk_cloud_id: 0 },
      { bk_host_innerip: '10.9.0.4' },
      { bk_host_innerip: '10.9.0.5', bk_cloud_id: 9 },
      { bk_host_innerip: '10.0.0.1', bk_cloud_id: 0 },
      { bk_cloud_id: 0 },
      { bk_host_innerip: '10.9.0.6', bk_cloud_id: 0, bk_os_type: '9' },
    ] });
    expect(r.json).toMatchObject({ result: false, code: 1110004 });
    expect(r.json.data.success).toEqual([{ index: 0, bk_host_id: expect.any(Number) }]);
    expect(r.json.data.error.map((e: { index: number }) => e.index)).toEqual([1, 2, 3, 4, 5]);
    const words = r.json.data.error.map((e: { error_message: string }) => e.error_message);
    expect(words[0]).toContain('bk_cloud_id');
    expect(words[1]).toContain('2行10.9.0.5新加失败管控区域不存在');
    expect(words[2]).toContain('数据唯一性校验失败');
    expect(words[3]).toContain('bk_host_innerip and bk_host_innerip_v6');
    expect(sim.store.hosts().filter((h) => String(h.bk_host_innerip).startsWith('10.9.0.')).map((h) => h.bk_host_innerip)).toEqual(['10.9.0.3']);
  });
});

describe('hosts hold lists in their IP fields', () => {
  it('list_hosts_without_biz finds a host by any of its IPs and answers them comma-joined; creating one of them again is a duplicate', async () => {
    sim.store.instanceMap('host').get(7)!.bk_host_innerip = '10.0.0.7,10.8.0.7';
    const r = await esb(sim, 'list_hosts_without_biz', { fields: ['bk_host_innerip'], host_property_filter: { condition: 'AND', rules: [{ field: 'bk_host_innerip', operator: 'in', value: ['10.8.0.7'] }] }, page: { start: 0, limit: 10 } });
    expect(r.json.data).toEqual({ count: 1, info: [{ bk_host_id: 7, bk_host_innerip: '10.0.0.7,10.8.0.7' }] });
    const again = await add('esb', { host_info: [{ bk_host_innerip: '10.8.0.7', bk_cloud_id: 0 }] });
    expect(again.json.code).toBe(1110004);
    expect(again.json.data.error[0].error_message).toContain('数据唯一性校验失败');
  });

  it('refuses a missing host_info (1199010) and one that is not a list (1199000)', async () => {
    expect((await add('esb', {})).json.code).toBe(1199010);
    expect((await add('apigw', { host_info: { 0: { bk_host_innerip: '10.9.0.9' } } })).json.code).toBe(1199000);
  });
});
