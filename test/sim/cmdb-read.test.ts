/** The simulator's read operations for export (src/sim/cmdb-read.ts), through both front doors. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { apigw, esb } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ apigwWindows: false });
});
afterAll(() => sim.close());
beforeEach(() => sim.reset());

describe('search_instance_associations', () => {
  it('answers the associations of the model (source or target), filtered, sorted, without a count', async () => {
    const body = { conditions: { condition: 'AND', rules: [{ field: 'bk_obj_asst_id', operator: 'equal', value: 'bk_switch_connect_host' }, { field: 'id', operator: 'greater', value: 1 }] }, page: { start: 0, limit: 500, sort: 'id' } };
    const r = await apigw(sim, 'POST', '/api/v3/search/instance_associations/object/bk_switch', body);
    expect(r.json.data).toEqual({ info: sim.store.associations('bk_switch_connect_host').filter((a) => a.id > 1) });
    const asTarget = await esb(sim, 'search_instance_associations', { bk_obj_id: 'host', page: { start: 0, limit: 500 } });
    expect(asTarget.json.data.info.map((a: { bk_asst_obj_id: string }) => a.bk_asst_obj_id)).toEqual(['host', 'host', 'host']);
  });

  it('refuses a page over 500 and a missing bk_obj_id', async () => {
    expect((await esb(sim, 'search_instance_associations', { bk_obj_id: 'bk_switch', page: { start: 0, limit: 501 } })).json.code).toBe(1199006);
    expect((await esb(sim, 'search_instance_associations', { page: { start: 0, limit: 5 } })).json.code).toBe(1199006);
  });
});

describe('count_object_instances', () => {
  it('counts the instances that match, and refuses built-in models (1199084)', async () => {
    const r = await apigw(sim, 'POST', '/api/v3/count/instances/object/bk_switch', { conditions: { condition: 'AND', rules: [{ field: 'vendor', operator: 'equal', value: 'cisco' }] } });
    expect(r.json.data).toEqual({ count: sim.store.instances('bk_switch').filter((s) => s.vendor === 'cisco').length });
    expect((await esb(sim, 'count_object_instances', { bk_obj_id: 'host' })).json.code).toBe(1199084);
  });
});
