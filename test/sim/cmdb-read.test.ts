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

const above = (field: string, value: number) => ({ condition: 'AND', rules: [{ field, operator: 'greater', value }] });

describe('list_hosts_without_biz', () => {
  it('pages hosts by a bk_host_id cursor, sorted by bk_host_id, with the count of all that match', async () => {
    const body = { fields: ['bk_host_name'], host_property_filter: above('bk_host_id', 195), page: { start: 0, limit: 3, sort: 'bk_host_id' } };
    const e = await esb(sim, 'list_hosts_without_biz', body);
    const g = await apigw(sim, 'POST', '/api/v3/hosts/list_hosts_without_app', body);
    for (const r of [e, g]) {
      expect(r.json).toMatchObject({ result: true, code: 0 });
      expect(r.json.data).toEqual({ count: 5, info: [196, 197, 198].map((id) => ({ bk_host_id: id, bk_host_name: `host-${id}` })) });
    }
  });

  it('refuses a page over 1000 and a missing limit as a bad page.limit (1199006)', async () => {
    expect((await esb(sim, 'list_hosts_without_biz', { page: { start: 0, limit: 1001 } }, { lang: 'en' })).json).toMatchObject({ code: 1199006, message: "parameter 'page.limit' is invalid" });
    expect((await esb(sim, 'list_hosts_without_biz', { page: { start: 0 } })).json.code).toBe(1199006);
  });
});

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
