/**
 * Which instances still have associations: batch_delete_inst refuses a whole request while one of its instances has
 * any (1101075, topo_server logics/inst DeleteInstByInstID checks both ends). The model's association kinds come from
 * find_object_association (as source and as target); each kind's links of these instances from
 * find_instance_association, with the ids as `$in` (the filter associate's reconcile uses too).
 */
import type { CmdbApi } from '../../http/cmdb.js';
import { envelopeError } from './common.js';

interface Kind {
  bk_obj_asst_id: string;
  bk_obj_id: string;
  bk_asst_obj_id: string;
}

/** Finds, for instance ids of one model, the associations each still has, in words ("bk_switch_connect_host → host 3"). */
export class LinkFinder {
  private kinds?: Kind[];
  constructor(private readonly api: CmdbApi, private readonly obj: string, private readonly signal: AbortSignal) {}

  async find(ids: number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (ids.length === 0) return out;
    const add = (id: number, text: string) => out.set(id, [...(out.get(id) ?? []), text]);
    for (const k of await this.modelKinds()) {
      if (k.bk_obj_id === this.obj) {
        for (const a of await this.links(k.bk_obj_id, { bk_obj_asst_id: k.bk_obj_asst_id, bk_inst_id: { $in: ids } })) add(Number(a.bk_inst_id), `${k.bk_obj_asst_id} → ${k.bk_asst_obj_id} ${a.bk_asst_inst_id}`);
      }
      if (k.bk_asst_obj_id === this.obj) {
        for (const a of await this.links(k.bk_obj_id, { bk_obj_asst_id: k.bk_obj_asst_id, bk_asst_inst_id: { $in: ids } })) add(Number(a.bk_asst_inst_id), `${k.bk_obj_asst_id} ← ${k.bk_obj_id} ${a.bk_inst_id}`);
      }
    }
    return out;
  }

  private async modelKinds(): Promise<Kind[]> {
    if (this.kinds) return this.kinds;
    const seen = new Map<string, Kind>();
    for (const condition of [{ bk_obj_id: this.obj }, { bk_asst_obj_id: this.obj }]) {
      const env = await this.api.call('find_object_association', { condition }, { idempotent: true, signal: this.signal });
      if (!env.result) throw new Error(`cannot read the association kinds of ${this.obj}: ${envelopeError(env)}`);
      for (const k of (Array.isArray(env.data) ? env.data : []) as Kind[]) seen.set(k.bk_obj_asst_id, k);
    }
    this.kinds = [...seen.values()];
    return this.kinds;
  }

  private async links(obj: string, condition: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    const env = await this.api.call('find_instance_association', { bk_obj_id: obj, condition }, { idempotent: true, signal: this.signal });
    if (!env.result) throw new Error(`cannot read the associations of ${this.obj} instances: ${envelopeError(env)}`);
    return (Array.isArray(env.data) ? env.data : []) as Record<string, unknown>[];
  }
}
