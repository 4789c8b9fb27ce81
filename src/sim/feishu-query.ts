/**
 * Feishu aPaaS records batch_query, as strict as the documented API (docs/simulator.md "batch_query" cites the
 * source of each rule): `select` is required; filter conditions carry an `index` that `logic_expression` refers
 * to; only the documented operators; `page_size` 1..500 (default 500); `page_token` is honoured and
 * `next_page_token` returned only with `use_page_token: true`; `order_by` sorts; `total` only with
 * `need_total_count`. Anything else the server would refuse is HTTP 400 / 2320001.
 */
import type { Row } from './store.js';

/** The criterion operators of the aPaaS data engine (byted-apaas/server-sdk-go service/data/op/op.go). */
export const QUERY_OPERATORS = [
  'equals', 'notEquals', 'greaterThan', 'greaterThanOrEquals', 'lessThan', 'lessThanOrEquals',
  'contains', 'notContains', 'isAnyOf', 'isNoneOf', 'isEmpty', 'isNotEmpty', 'hasAnyOf', 'hasNoneOf',
  'isOnOrBefore', 'isOnOrAfter',
] as const;
const OPERATORS = new Set<string>(QUERY_OPERATORS);
const NO_RIGHT_VALUE = new Set(['isEmpty', 'isNotEmpty']);
const LIST_OPERATORS = new Set(['isAnyOf', 'isNoneOf', 'hasAnyOf', 'hasNoneOf']);
const MAX_PAGE = 500;

interface Cond {
  index: string;
  field: string;
  operator: string;
  value: unknown;
  /** The list operators' values, by canonical key (one look-up per record instead of a scan of the list). */
  set?: Set<string>;
}

export interface Query {
  select: string[];
  conds: Cond[];
  /** The logic expression, compiled: true when a record's condition results satisfy it. */
  test: Expr;
  order: Array<{ field: string; desc: boolean }>;
  start: number;
  size: number;
  useToken: boolean;
  needTotal: boolean;
}

const isObj = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonText(v: unknown): unknown {
  if (typeof v !== 'string') throw new Error('settings must be a JSON string');
  return JSON.parse(v);
}

function parseCondition(c: unknown, i: number): Cond | string {
  const at = `filter.conditions[${i}]`;
  if (!isObj(c)) return `${at} must be an object`;
  if (typeof c.index !== 'string' || !/^\d+$/.test(c.index.trim())) {
    return `${at}.index is missing or not a number in a string: every condition carries the index that logic_expression refers to`;
  }
  if (typeof c.operator !== 'string' || !OPERATORS.has(c.operator)) return `${at}.operator ${JSON.stringify(c.operator)} is not one of ${QUERY_OPERATORS.join(', ')}`;
  if (!isObj(c.left) || c.left.type !== 'metadataVariable') return `${at}.left.type must be "metadataVariable"`;
  let field: unknown;
  try {
    const left = parseJsonText(c.left.settings) as { fieldPath?: Array<{ fieldApiName?: unknown }> };
    field = left?.fieldPath?.[0]?.fieldApiName;
  } catch {
    field = undefined;
  }
  if (typeof field !== 'string' || !field) return `${at}.left.settings must be a JSON string {"fieldPath":[{"fieldApiName":…,"objectApiName":…}]}`;
  if (NO_RIGHT_VALUE.has(c.operator) && c.right === undefined) return { index: c.index.trim(), field, operator: c.operator, value: undefined };
  if (!isObj(c.right) || c.right.type !== 'constant') return `${at}.right.type must be "constant"`;
  let right: unknown;
  try {
    right = parseJsonText(c.right.settings);
  } catch {
    right = undefined;
  }
  if (!isObj(right) || !('data' in right)) return `${at}.right.settings must be a JSON string {"data":…}`;
  if (LIST_OPERATORS.has(c.operator)) {
    if (!Array.isArray(right.data)) return `${at}: ${c.operator} takes a list in data`;
    return { index: c.index.trim(), field, operator: c.operator, value: right.data, set: new Set(right.data.map(canonical)) };
  }
  return { index: c.index.trim(), field, operator: c.operator, value: right.data };
}

/** The condition indexes a logic expression names, or an error for a token that is neither an index nor a word of it. */
function expressionIndexes(expr: string): string[] | string {
  const out: string[] = [];
  for (const t of expr.match(/\d+|[A-Za-z]+|\(|\)|\S/g) ?? []) {
    if (/^\d+$/.test(t)) out.push(String(Number(t)));
    else if (!/^(and|or|\(|\))$/i.test(t)) return `filter.logic_expression: unexpected "${t}"`;
  }
  return out;
}

function parseFilter(f: unknown): { conds: Cond[]; test: Expr } | string {
  if (f === undefined || f === null) return { conds: [], test: () => true };
  if (!isObj(f)) return 'filter must be an object';
  if (f.conditions !== undefined && !Array.isArray(f.conditions)) return 'filter.conditions must be a list';
  const conds: Cond[] = [];
  for (const [i, c] of ((f.conditions as unknown[] | undefined) ?? []).entries()) {
    const parsed = parseCondition(c, i);
    if (typeof parsed === 'string') return parsed;
    if (conds.some((x) => Number(x.index) === Number(parsed.index))) return `filter.conditions[${i}].index ${parsed.index} is used twice`;
    conds.push(parsed);
  }
  if (f.logic_expression !== undefined && typeof f.logic_expression !== 'string') return 'filter.logic_expression must be a string';
  const expr = (f.logic_expression as string | undefined)?.trim() || conds.map((c) => c.index).join(' and ');
  const named = expressionIndexes(expr);
  if (typeof named === 'string') return named;
  const known = new Set(conds.map((c) => String(Number(c.index))));
  const missing = named.find((n) => !known.has(n));
  if (missing !== undefined) return `filter.logic_expression names condition ${missing}, but no condition has that index`;
  try {
    return { conds, test: compile(expr) };
  } catch {
    return `filter.logic_expression "${expr}" is malformed`;
  }
}

function parseOrder(o: unknown): Query['order'] | string {
  if (o === undefined) return [];
  if (!Array.isArray(o)) return 'order_by must be a list';
  const out: Query['order'] = [];
  for (const [i, x] of o.entries()) {
    if (!isObj(x) || typeof x.field !== 'string' || !x.field) return `order_by[${i}].field is required`;
    if (x.direction !== 'ASC' && x.direction !== 'DESC') return `order_by[${i}].direction must be "ASC" or "DESC"`;
    out.push({ field: x.field, desc: x.direction === 'DESC' });
  }
  return out;
}

const encodeToken = (offset: number) => Buffer.from(`o:${offset}`).toString('base64url');
function decodeToken(t: string): number | undefined {
  const m = /^o:(\d+)$/.exec(Buffer.from(t, 'base64url').toString());
  return m ? Number(m[1]) : undefined;
}

/** Reads a batch_query body, or says why the server would refuse it. */
export function parseQuery(body: Row): Query | string {
  if (!Array.isArray(body.select) || body.select.length === 0 || !body.select.every((s) => typeof s === 'string' && s)) {
    return 'select is required: a non-empty list of field API names';
  }
  const size = body.page_size ?? MAX_PAGE;
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > MAX_PAGE) return `page_size must be 1..${MAX_PAGE}`;
  const offset = body.offset ?? 0;
  if (!Number.isInteger(offset) || (offset as number) < 0) return 'offset must be a whole number ≥ 0';
  if (body.use_page_token !== undefined && typeof body.use_page_token !== 'boolean') return 'use_page_token must be a boolean';
  const useToken = body.use_page_token === true;
  let start = offset as number;
  // Without use_page_token the server reads no page_token at all (it starts at offset).
  if (useToken && body.page_token !== undefined && body.page_token !== '') {
    const at = typeof body.page_token === 'string' ? decodeToken(body.page_token) : undefined;
    if (at === undefined) return 'page_token is invalid';
    start = at;
  }
  const filter = parseFilter(body.filter);
  if (typeof filter === 'string') return filter;
  const order = parseOrder(body.order_by);
  if (typeof order === 'string') return order;
  return { select: body.select as string[], ...filter, order, start, size: size as number, useToken, needTotal: body.need_total_count === true };
}

const text = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

/** a <=> b: numbers (or whole-number strings, as aPaaS integer fields hold) by value, otherwise by text. */
function compare(a: unknown, b: unknown): number {
  const x = num(a);
  const y = num(b);
  if (Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0;
}

/** Equal under compare() ⇔ equal canonical keys. */
function canonical(v: unknown): string {
  const n = num(v);
  return Number.isFinite(n) ? `n:${n}` : `t:${text(v)}`;
}

function matches(v: unknown, c: Cond): boolean {
  const set = c.set ?? new Set<string>();
  const values = Array.isArray(v) ? v : [v];
  switch (c.operator) {
    case 'equals': return !isEmpty(v) && compare(v, c.value) === 0;
    case 'notEquals': return isEmpty(v) || compare(v, c.value) !== 0;
    case 'greaterThan': return !isEmpty(v) && compare(v, c.value) > 0;
    case 'greaterThanOrEquals': case 'isOnOrAfter': return !isEmpty(v) && compare(v, c.value) >= 0;
    case 'lessThan': return !isEmpty(v) && compare(v, c.value) < 0;
    case 'lessThanOrEquals': case 'isOnOrBefore': return !isEmpty(v) && compare(v, c.value) <= 0;
    case 'contains': return values.some((x) => text(x).includes(text(c.value)));
    case 'notContains': return !values.some((x) => text(x).includes(text(c.value)));
    case 'isAnyOf': return !isEmpty(v) && set.has(canonical(v));
    case 'isNoneOf': return isEmpty(v) || !set.has(canonical(v));
    case 'hasAnyOf': return values.some((x) => set.has(canonical(x)));
    case 'hasNoneOf': return !values.some((x) => set.has(canonical(x)));
    case 'isEmpty': return isEmpty(v);
    default: return !isEmpty(v); // isNotEmpty
  }
}

type Expr = (test: (index: string) => boolean) => boolean;

/** Compiles "1 and (2 or 3)" once into a function of the conditions' results by index; throws when malformed. */
function compile(expr: string): Expr {
  const tokens = expr.match(/\d+|[A-Za-z]+|\(|\)/g) ?? [];
  let i = 0;
  const factor = (): Expr => {
    const t = tokens[i++];
    if (t === '(') {
      const e = either();
      if (tokens[i++] !== ')') throw new Error('missing )');
      return e;
    }
    if (t !== undefined && /^\d+$/.test(t)) {
      const index = String(Number(t));
      return (test) => test(index);
    }
    throw new Error(`unexpected ${t ?? 'end'}`);
  };
  const both = (): Expr => {
    let e = factor();
    while (tokens[i]?.toLowerCase() === 'and') {
      i++;
      const [l, r] = [e, factor()];
      e = (test) => l(test) && r(test);
    }
    return e;
  };
  const either = (): Expr => {
    let e = both();
    while (tokens[i]?.toLowerCase() === 'or') {
      i++;
      const [l, r] = [e, both()];
      e = (test) => l(test) || r(test);
    }
    return e;
  };
  if (tokens.length === 0) return () => true;
  const e = either();
  if (i !== tokens.length) throw new Error('trailing tokens');
  return e;
}

/** Runs a parsed query over an object's records. */
export function runQuery(rows: Row[], q: Query): { items: Row[]; hasMore: boolean; next?: string; total?: number } {
  const byIndex = new Map(q.conds.map((c) => [String(Number(c.index)), c]));
  let hits = q.conds.length === 0 ? rows : rows.filter((r) => q.test((index) => matches(r[byIndex.get(index)!.field], byIndex.get(index)!)));
  if (q.order.length) {
    hits = [...hits].sort((a, b) => {
      for (const o of q.order) {
        const d = compare(a[o.field], b[o.field]);
        if (d !== 0) return o.desc ? -d : d;
      }
      return 0;
    });
  }
  const page = hits.slice(q.start, q.start + q.size).map((r) => {
    const out: Row = {};
    for (const k of q.select) if (k in r) out[k] = r[k];
    return out;
  });
  const end = q.start + page.length;
  const hasMore = end < hits.length;
  return { items: page, hasMore, ...(q.useToken && hasMore ? { next: encodeToken(end) } : {}), ...(q.needTotal ? { total: hits.length } : {}) };
}
