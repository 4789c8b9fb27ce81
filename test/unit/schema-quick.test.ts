import { describe, expect, it } from 'vitest';
import { compileField, NOT_QUICK, targetSchema, type FieldSpec } from '../../src/schema/fields.js';

/** A real calendar date, the slow and obvious way. */
function calendarDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const dt = new Date(0);
  dt.setUTCFullYear(y, m - 1, d);
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

/** CMDB's text types are trimmed before they are checked and sent, as the server trims them. */
const trims = (f: FieldSpec) => f.type === 'singlechar' || f.type === 'longchar' || f.type === 'objuser';

/** What the checker must answer: zod's verdict on the target schema, plus the calendar check for dates. */
function reference(f: FieldSpec, v: unknown): boolean {
  // JSON input: an id may come as a whole-number string (other tools write them so).
  if (f.type === 'id' && typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) v = Number(v);
  // JSON input: an enum option may be named by its display name, as in a CSV cell.
  if (f.type === 'enum' && typeof v === 'string') {
    const name = v.toLowerCase();
    v = f.options!.find((o) => o.name.toLowerCase() === name)?.id ?? v;
  }
  if (trims(f) && typeof v === 'string') v = v.trim();
  const r = targetSchema(f).safeParse(v);
  if (!r.success) return false;
  if (f.type === 'date') return calendarDate(r.data as string);
  return true;
}

const SPECS: FieldSpec[] = [
  { name: 'n', type: 'int' },
  { name: 'p', type: 'int', min: 1, max: 1024 },
  { name: 'i', type: 'id' },
  { name: 'f', type: 'float', min: -1.5, max: 2.5 },
  { name: 'b', type: 'bool' },
  { name: 'd', type: 'date' },
  { name: 'e', type: 'enum', options: [{ id: 'cisco', name: 'Cisco' }, { id: 'huawei', name: '华为' }] },
  { name: 's', type: 'singlechar' },
  { name: 'l', type: 'longchar' },
  { name: 'm', type: 'string', maxLength: 3 },
  { name: 'u', type: 'objuser' },
  { name: 'r', type: 'singlechar', pattern: /^SW-\d+$/ },
];

const VALUES: unknown[] = [
  0, 1, -1, 48, 1024, 1025, 1.5, -1.5, 2.5, 2.6, 3, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity, -0,
  true, false, null, undefined, '', '48', 'true', 'cisco', 'Cisco', 'huawei', 'SW-1', 'SW-x', 'abc', 'abcd', 'x'.repeat(256),
  'x'.repeat(257), 'x'.repeat(2000), 'x'.repeat(2001), '2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '2024-04-31',
  '2024-12-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-1-01', '２０２４-01-01', '2024/01/01', ' 2024-01-01', [], {}, ['cisco'],
  '交'.repeat(85), '交'.repeat(86), ' admin ', 'alice,bob', '张三',
];

describe('field checkers: the quick path', () => {
  it('accepts exactly what the zod schema (and the calendar) accept, for JSON values', () => {
    for (const f of SPECS) {
      const check = compileField(f);
      for (const v of VALUES) {
        const got = check(v, false);
        expect(got.error === undefined, `${f.name} (${f.type}) with ${JSON.stringify(v) ?? String(v)}`).toBe(reference(f, v));
        if (got.error === undefined && !(typeof v === 'string' && (f.type === 'id' || f.type === 'enum'))) expect(got.value).toBe(trims(f) && typeof v === 'string' ? v.trim() : v);
      }
    }
  });

  it('accept() answers the checker\'s value or NOT_QUICK, never something the checker would refuse or change', () => {
    const texts = ['48', ' 48 ', '1025', 'true', 'yes', '否', '2024-02-29', '2024/2/9', '2023-02-29', 'cisco', 'Cisco', '华为', 'admin', 'a, b', '', 'x'.repeat(300)];
    let quick = 0;
    for (const f of SPECS) {
      const check = compileField(f);
      for (const [v, isText] of [...VALUES.map((x) => [x, false] as const), ...texts.map((x) => [x, true] as const)]) {
        const a = check.accept ? check.accept(v, isText) : NOT_QUICK;
        if (a === NOT_QUICK) continue;
        quick++;
        expect(check(v, isText), `${f.name} (${f.type}) with ${JSON.stringify(v)}`).toEqual({ value: a });
      }
    }
    expect(quick).toBeGreaterThan(30);
  });

  it('coerces CSV text the same way on the quick path', () => {
    const date = compileField({ name: 'd', type: 'date' });
    expect(date('2024-02-29', true)).toEqual({ value: '2024-02-29' });
    expect(date('2024/2/9', true)).toEqual({ value: '2024-02-09' });
    expect(date('2023-02-29', true).error).toMatch(/real calendar date/);
    const bool = compileField({ name: 'b', type: 'bool' });
    expect([bool('true', true), bool('false', true), bool(' Yes ', true), bool('否', true)].map((r) => r.value)).toEqual([true, false, true, false]);
    expect(bool('maybe', true).error).toMatch(/true or false/);
    const port = compileField({ name: 'p', type: 'int', min: 1, max: 1024 });
    expect(port(' 48 ', true)).toEqual({ value: 48 });
    expect(port('2048', true).error).toMatch(/at most 1024/);
    const users = compileField({ name: 'u', type: 'objuser' });
    expect(['admin', ' alice ', 'alice; bob', 'alice，bob、carol', '["a","b"]'].map((t) => users(t, true).value)).toEqual(['admin', 'alice', 'alice,bob', 'alice,bob,carol', 'a,b']);
  });
});
