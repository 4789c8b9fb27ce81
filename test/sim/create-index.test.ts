import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { esb } from './helpers.js';

const DUP = /^数据唯一性校验失败， bk_asset_id: "\w" 重复$/;
let seq = 0;

// batch_create_inst keeps its unique index from one create to the next (so big imports are not quadratic):
// every other change to the instances must still be seen by the next create.
let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ world: 'empty-extra' });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

const create = async (assetIds: string[]) => {
  const r = await esb(sim, 'batch_create_inst', { bk_obj_id: 'bk_switch', details: assetIds.map((a) => ({ bk_inst_name: `${a}-${++seq}`, bk_asset_id: a })) });
  return r.json.data as { success_created: Record<string, number>; error_msg: Record<string, string> };
};

describe('batch_create_inst unique index between requests', () => {
  it('sees earlier creates, updates, deletes, direct inserts and resets', async () => {
    const first = await create(['A', 'B']);
    expect(Object.keys(first.success_created)).toEqual(['0', '1']);
    expect((await create(['A'])).error_msg['0']!).toMatch(DUP); // an earlier create

    // update frees "A" and takes "C"
    const idA = first.success_created['0']!;
    const upd = await esb(sim, 'batch_update_inst', { bk_obj_id: 'bk_switch', update: [{ inst_id: idA, datas: { bk_asset_id: 'C' } }] });
    expect(upd.json.result).toBe(true);
    const afterUpdate = await create(['A', 'C']);
    expect(Object.keys(afterUpdate.success_created)).toEqual(['0']);
    expect(afterUpdate.error_msg['1']!).toMatch(DUP);

    // delete frees "B"
    const del = await esb(sim, 'batch_delete_inst', { bk_obj_id: 'bk_switch', delete: { inst_ids: [first.success_created['1']] } });
    expect(del.json.result).toBe(true);
    expect(Object.keys((await create(['B'])).success_created)).toEqual(['0']);

    // a row put in the store directly (tests do this) takes "D"
    sim.store.insert('bk_switch', { bk_inst_name: 'D', bk_asset_id: 'D' });
    expect((await create(['D'])).error_msg['0']!).toMatch(DUP);

    // reset forgets everything
    sim.reset();
    expect(Object.keys((await create(['A', 'B', 'C', 'D'])).success_created)).toHaveLength(4);
  });
});
