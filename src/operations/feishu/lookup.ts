/**
 * Finding aPaaS records by a key field with records batch_query, in the shape the server accepts (docs/apaas.md,
 * "Look-ups"): one `isAnyOf` condition with `index: "1"` and `logic_expression: "1"`, `select` naming `_id` and the
 * key, paging with `use_page_token: true`.
 *
 * An answer is trusted only when it proves itself: every record returned must carry `_id` and a key value that was
 * asked for (a server that ignored the filter would return other records, and "not among them" would then mean
 * nothing); a page that says there is more must hand a new token; the pages are bounded. Otherwise the look-up
 * throws, and nothing is concluded from it.
 */
import { CliError, EXIT } from '../../core/errors.js';
import type { FeishuApi } from '../../http/feishu.js';

/**
 * Key values asked for in one query: as many as a create batch holds, so that a create run spends one batch_query
 * per batch_create and the two operations' windows (1000/min each) bind together. No documented limit on the list.
 */
export const VALUES_PER_QUERY = 500;
/** Pages read for one query at most: 20 × 500 records, far more than VALUES_PER_QUERY values of a unique field match. */
export const MAX_PAGES = 20;
const PAGE_SIZE = 500;
/** Key values whose answers are kept for the run at most (update/delete: pass 1 and pass 2 ask for the same keys). */
const MAX_CACHED = 200_000;

/** The text a key value is compared by: strings trimmed, numbers as written; anything else cannot be a key. */
export function keyOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A look-up whose answer cannot be trusted: the run stops (exit 5) rather than guess. */
export class LookupError extends CliError {
  constructor(message: string) {
    super(message, EXIT.UNREACHABLE, 'nothing was concluded from this look-up; check --object and the key field, then run again (--resume <report> finishes a run)');
  }
}

/** A record as a look-up returns it: `_id`, the key and the fields asked for. */
export type FoundRecord = Record<string, unknown>;

export class RecordFinder {
  private readonly cache = new Map<string, FoundRecord[]>();

  constructor(
    private readonly api: FeishuApi,
    readonly ns: string,
    readonly obj: string,
    readonly key: string,
    /** Keep answers for the run (update/delete name records that stay); creates look again every time. */
    private readonly remember: boolean,
    /** Fields to read besides `_id` and the key (apaas-sync compares them). */
    private readonly fields: string[] = [],
  ) {}

  /** For each key value (as it would be sent), the ids of the records that hold it: none, one or several. */
  async lookup(values: unknown[], signal: AbortSignal): Promise<Map<string, string[]>> {
    const found = await this.find(values, signal);
    return new Map([...found].map(([k, recs]) => [k, recs.map((r) => keyOf(r._id)!)]));
  }

  /** For each key value (as it would be sent), the records that hold it, with the fields asked for. */
  async find(values: unknown[], signal: AbortSignal): Promise<Map<string, FoundRecord[]>> {
    // Key text → the forms to ask for: the value as it is sent and, for text, also trimmed (whether the server trims
    // on write is not documented; a record stored either way must be found).
    const wanted = new Map<string, unknown[]>();
    for (const v of values) {
      const k = keyOf(v);
      if (k === undefined || this.cache.has(k)) continue;
      const forms = wanted.get(k) ?? [];
      for (const f of typeof v === 'string' ? [v, k] : [v]) if (!forms.includes(f)) forms.push(f);
      wanted.set(k, forms);
    }
    const found = new Map<string, FoundRecord[]>();
    const todo = [...wanted.entries()];
    for (let i = 0; i < todo.length; i += VALUES_PER_QUERY) {
      const chunk = new Map(todo.slice(i, i + VALUES_PER_QUERY));
      for (const [k, ids] of await this.query(chunk, signal)) found.set(k, ids);
    }
    if (this.remember) for (const [k, ids] of found) this.keep(k, ids);
    const out = new Map<string, FoundRecord[]>();
    for (const v of values) {
      const k = keyOf(v);
      if (k !== undefined) out.set(k, found.get(k) ?? this.cache.get(k) ?? []);
    }
    return out;
  }

  /** Caches an answer; the cache is bounded (oldest dropped first), as the CMDB key resolver's. */
  private keep(k: string, ids: FoundRecord[]): void {
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(k, ids);
  }

  /** One isAnyOf query over at most VALUES_PER_QUERY key values (each in its forms), every page of it. */
  private async query(chunk: Map<string, unknown[]>, signal: AbortSignal): Promise<Map<string, FoundRecord[]>> {
    const ids = new Map<string, FoundRecord[]>([...chunk.keys()].map((k) => [k, []]));
    const body: Record<string, unknown> = {
      select: [...new Set(['_id', this.key, ...this.fields])],
      filter: {
        conditions: [
          {
            index: '1',
            left: { type: 'metadataVariable', settings: JSON.stringify({ fieldPath: [{ fieldApiName: this.key, objectApiName: this.obj }] }) },
            operator: 'isAnyOf',
            right: { type: 'constant', settings: JSON.stringify({ data: [...chunk.values()].flat() }) },
          },
        ],
        logic_expression: '1',
      },
      page_size: PAGE_SIZE,
      use_page_token: true,
    };
    const seen = new Set<string>();
    let token: string | undefined;
    for (let page = 1; ; page++) {
      const env = await this.api.records('batch_query', this.ns, this.obj, token ? { ...body, page_token: token } : body, { idempotent: true, signal });
      if (!env.ok) throw new LookupError(`looking up ${this.ns}/${this.obj} records by ${this.key} failed: ${env.msg || 'refused'} (code ${env.code})`);
      for (const item of env.data.items) {
        const id = keyOf(item._id);
        const k = keyOf(item[this.key]);
        if (id === undefined) throw new LookupError(`looking up ${this.ns}/${this.obj} records by ${this.key}: the answer holds a record without _id`);
        if (k === undefined || !ids.has(k)) {
          throw new LookupError(`looking up ${this.ns}/${this.obj} records by ${this.key}: the server answered record ${id} whose ${this.key} ${JSON.stringify(item[this.key] ?? null)} was not asked for, so it did not apply the filter (is "${this.key}" a field of ${this.obj}?)`);
        }
        if (!seen.has(id)) ids.get(k)!.push(item);
        seen.add(id);
      }
      if (env.data.has_more !== true) return ids;
      const next = env.data.next_page_token;
      if (typeof next !== 'string' || next === '' || next === token) {
        throw new LookupError(`looking up ${this.ns}/${this.obj} records by ${this.key}: page ${page} says there is more but ${next ? 'hands back the same page token' : 'gives no next_page_token'}, so the rest cannot be read`);
      }
      if (page >= MAX_PAGES) {
        throw new LookupError(`looking up ${this.ns}/${this.obj} records by ${this.key}: more than ${MAX_PAGES * PAGE_SIZE} records hold ${chunk.size} values; is ${this.key} unique per record?`);
      }
      token = next;
    }
  }
}
