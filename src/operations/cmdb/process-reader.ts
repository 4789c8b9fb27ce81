/**
 * Reads processes of one business as they are, with the template each was created from: list_process_related_info
 * (ESB) / POST /api/v3/findmany/proc/process_related_info/biz/{bk_biz_id} (bk-cmdb proc_server
 * service/processinstance.go ListProcessRelatedInfo) filtered by process id, then get_proc_template for each template
 * (POST /api/v3/find/proc/proc_template/id/{id}): a property whose as_default_value is true is locked
 * (metadata.ProcessTemplate.ExtractInstanceUpdateData ignores it in an update).
 */
import { UsageError } from '../../core/errors.js';
import type { CmdbApi } from '../../http/cmdb.js';
import { envelopeError } from './common.js';

export interface CurrentProcess {
  process: Record<string, unknown>;
  template?: { id: number; name: string };
  /** Fields the template locks (none without a template). */
  locked: string[];
}

/** ids per request: the page limit of list_process_related_info. */
const PAGE = 500;

export class ProcessReader {
  private templates = new Map<number, Promise<{ name: string; locked: string[] }>>();

  constructor(
    private readonly api: CmdbApi,
    private readonly biz: number,
    private readonly signal: AbortSignal,
  ) {}

  /** The processes among `ids` that business `biz` has, by id. */
  async read(ids: number[]): Promise<Map<number, CurrentProcess>> {
    const out = new Map<number, CurrentProcess>();
    const todo = [...new Set(ids)];
    for (let i = 0; i < todo.length; i += PAGE) {
      const chunk = todo.slice(i, i + PAGE);
      const env = await this.api.call(
        'list_process_related_info',
        {
          bk_biz_id: this.biz,
          process_property_filter: { condition: 'AND', rules: [{ field: 'bk_process_id', operator: 'in', value: chunk }] },
          page: { start: 0, limit: PAGE, sort: 'bk_process_id' },
        },
        { idempotent: true, signal: this.signal },
      );
      if (!env.result) throw new UsageError(`cannot read the processes of business ${this.biz}: ${envelopeError(env)}`, 'check --biz and that the app may call list_process_related_info');
      for (const x of env.data.info) {
        const p = x.process;
        if (!p || typeof p.bk_process_id !== 'number') continue;
        const templateId = Number(x.process_template?.id ?? 0);
        if (templateId > 0) {
          const t = await this.template(templateId);
          out.set(p.bk_process_id, { process: p, template: { id: templateId, name: t.name }, locked: t.locked });
        } else {
          out.set(p.bk_process_id, { process: p, locked: [] });
        }
      }
    }
    return out;
  }

  private template(id: number): Promise<{ name: string; locked: string[] }> {
    let t = this.templates.get(id);
    if (!t) this.templates.set(id, (t = this.fetchTemplate(id)));
    return t;
  }

  private async fetchTemplate(id: number): Promise<{ name: string; locked: string[] }> {
    const env = await this.api.call('get_proc_template', { process_template_id: id }, { idempotent: true, signal: this.signal });
    if (!env.result) throw new UsageError(`cannot read process template ${id}: ${envelopeError(env)}`, 'check that the app may call get_proc_template');
    const data = env.data;
    const locked = Object.entries(data.property ?? {}).filter(([, v]) => v?.as_default_value === true).map(([k]) => k);
    return { name: String(data.bk_process_name ?? id), locked };
  }
}
