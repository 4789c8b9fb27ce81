import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileField, NOT_QUICK, targetCheck, type FieldSpec } from '../../src/schema/fields.js';

const SERVER_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$|^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_BYTES: Record<string, number> = { singlechar: 256, longchar: 2000, objuser: 2000 };
const validTimezone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * The rules as zod schemas: how src/schema/fields.ts declared them before its own plain checks (targetCheck)
 * replaced zod there (zod cost a small run a sixth of its start-up). The reference these tests hold targetCheck to.
 */
function zodSchema(f: FieldSpec): z.ZodType {
  const single = f.multiple === false;
  switch (f.type) {
    case 'int':
    case 'id': {
      let s = z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' });
      if (f.type === 'id') s = s.positive({ error: 'expected a positive id' });
      if (f.min !== undefined) s = s.min(f.min, { error: `expected at least ${f.min}` });
      if (f.max !== undefined) s = s.max(f.max, { error: `expected at most ${f.max}` });
      return s;
    }
    case 'float': {
      let s = z.number({ error: 'expected a number' });
      if (f.min !== undefined) s = s.min(f.min, { error: `expected at least ${f.min}` });
      if (f.max !== undefined) s = s.max(f.max, { error: `expected at most ${f.max}` });
      return s;
    }
    case 'bool':
      return z.boolean({ error: 'expected true or false' });
    case 'enum': {
      const ids = (f.options ?? []).map((o) => o.id);
      return z.string({ error: 'expected one of ' + ids.join(', ') }).refine((v) => ids.includes(v), { error: `expected one of ${ids.join(', ')}` });
    }
    case 'enummulti': {
      const ids = (f.options ?? []).map((o) => o.id);
      const s = z.array(z.string().refine((v) => ids.includes(v), { error: `expected items from ${ids.join(', ')}` }), { error: 'expected a list of option ids' });
      return single ? s.max(1, { error: 'expected one option: the field takes a single value (ismultiple is false)' }) : s;
    }
    case 'enumquote': {
      const s = z.array(z.number().int().positive(), { error: 'expected a list of instance ids' });
      return single ? s.max(1, { error: 'expected one instance id: the field takes a single value (ismultiple is false)' }) : s;
    }
    case 'list': {
      const opts = f.listOptions ?? [];
      return z.string({ error: 'expected text' }).refine((v) => opts.length === 0 || opts.includes(v), { error: `expected one of ${opts.join(', ')}` });
    }
    case 'organization': {
      const s = z.array(z.number().int().positive(), { error: 'expected a list of organization ids' });
      return single ? s.max(1, { error: 'expected one organization id: the field takes a single value (ismultiple is false)' }) : s;
    }
    case 'date':
      return z.string({ error: 'expected a date YYYY-MM-DD' }).regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'expected a date YYYY-MM-DD' });
    case 'time':
      return z.string({ error: 'expected a time YYYY-MM-DD HH:MM:SS' }).regex(SERVER_TIME, { error: 'expected a time "YYYY-MM-DD HH:MM:SS" or RFC 3339 with a zone ("2024-05-01T08:00:00+08:00")' });
    case 'timezone':
      return z.string({ error: 'expected a time zone like Asia/Shanghai' }).refine(validTimezone, { error: 'expected a time zone like Asia/Shanghai' });
    case 'json':
      return f.jsonArray ? z.array(z.unknown(), { error: 'expected a JSON array' }) : z.unknown();
    default: {
      const max = f.maxLength ?? MAX_BYTES[f.type];
      let s: z.ZodType<string> = z.string({ error: 'expected text' });
      if (max !== undefined) s = s.refine((v) => Buffer.byteLength(v) <= max, { error: `expected at most ${max} bytes of UTF-8 (a Chinese character is 3)` });
      if (f.pattern) s = s.refine((v) => f.pattern!.test(v), { error: `does not match the model's pattern ${f.pattern.source}` });
      if (f.type === 'objuser') {
        s = s.refine((v) => v === '' || /^(\d|[a-zA-Z])([a-zA-Z0-9@.,_-])*$/.test(v), { error: 'expected user names of letters, digits and @ . _ - separated by commas' });
        if (single) s = s.refine((v) => !v.includes(','), { error: 'expected one user: the field takes a single value (ismultiple is false)' });
      }
      return s;
    }
  }
}

/** A real calendar date, the slow and obvious way. */
function calendarDate(s: string): boolean {
  const [y, m, d] = s.split('-').map(Number) as [number, number, number];
  const dt = new Date(0);
  dt.setUTCFullYear(y, m - 1, d);
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

/** CMDB's text types are trimmed before they are checked and sent, as the server trims them. */
const trims = (f: FieldSpec) => f.type === 'singlechar' || f.type === 'longchar' || f.type === 'objuser';

/** What the checker must answer: zod's verdict on the rules, plus the calendar check for dates. */
function reference(f: FieldSpec, v: unknown): boolean {
  // JSON input: an id may come as a whole-number string (other tools write them so).
  if (f.type === 'id' && typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) v = Number(v);
  // JSON input: an enum option may be named by its display name, as in a CSV cell.
  if (f.type === 'enum' && typeof v === 'string') {
    const name = v.toLowerCase();
    v = f.options!.find((o) => o.name.toLowerCase() === name)?.id ?? v;
  }
  if (trims(f) && typeof v === 'string') v = v.trim();
  const r = zodSchema(f).safeParse(v);
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
  { name: 'u1', type: 'objuser', multiple: false },
  { name: 'r', type: 'singlechar', pattern: /^SW-\d+$/ },
];

const VALUES: unknown[] = [
  0, 1, -1, 48, 1024, 1025, 1.5, -1.5, 2.5, 2.6, 3, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity, -0,
  true, false, null, undefined, '', '48', 'true', 'cisco', 'Cisco', 'huawei', 'SW-1', 'SW-x', 'abc', 'abcd', 'x'.repeat(256),
  'x'.repeat(257), 'x'.repeat(2000), 'x'.repeat(2001), '2024-02-29', '2023-02-29', '1900-02-29', '2000-02-29', '2024-04-31',
  '2024-12-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-1-01', '２０２４-01-01', '2024/01/01', ' 2024-01-01', [], {}, ['cisco'],
  '交'.repeat(85), '交'.repeat(86), ' admin ', 'alice,bob', '张三',
];

/** Every type, for the rules themselves (the quick path covers only the simple ones). */
const ALL_SPECS: FieldSpec[] = [
  ...SPECS,
  { name: 'c', type: 'id', min: 2, max: 9 },
  { name: 'em', type: 'enummulti', options: [{ id: 'cisco', name: 'Cisco' }, { id: 'huawei', name: '华为' }] },
  { name: 'e1', type: 'enummulti', multiple: false, options: [{ id: 'cisco', name: 'Cisco' }, { id: 'huawei', name: '华为' }] },
  { name: 'q', type: 'enumquote' },
  { name: 'q1', type: 'enumquote', multiple: false },
  { name: 'o', type: 'organization' },
  { name: 'o1', type: 'organization', multiple: false },
  { name: 'li', type: 'list', listOptions: ['a', 'b'] },
  { name: 'l0', type: 'list' },
  { name: 't', type: 'time' },
  { name: 'z', type: 'timezone' },
  { name: 'j', type: 'json' },
  { name: 'ja', type: 'json', jsonArray: true },
  { name: 'sp', type: 'string', maxLength: 5, pattern: /^a/ },
];

const MORE_VALUES: unknown[] = [
  [1], [1, 2], [0], [-1], [1.5], ['1'], [2 ** 53], ['cisco'], ['cisco', 'huawei'], ['juniper'], [1, 'x'], 'a', 'b', 'c',
  '2024-05-01 08:00:00', '2024-05-01T08:00:00+08:00', '2024-05-01T08:00:00', 'Asia/Shanghai', 'Mars/Olympus', 'UTC',
  'alice', 'alice@corp.example', 'alice,bob', '_x', 'abcdef', 'aaaaa', 5, 9, 10,
];

describe('field rules (targetCheck)', () => {
  it('refuse exactly what the zod schemas they replaced refuse, with the same message where the message is ours', () => {
    let refused = 0;
    for (const f of ALL_SPECS) {
      const check = targetCheck(f);
      for (const v of [...VALUES, ...MORE_VALUES]) {
        const r = zodSchema(f).safeParse(v);
        const got = check(v);
        const what = `${f.name} (${f.type}) with ${JSON.stringify(v) ?? String(v)}`;
        expect(got === undefined, what).toBe(r.success);
        if (r.success) continue;
        refused++;
        // zod's own words (an item of a list that is not even the item's type) were replaced by the list's.
        const first = r.error.issues[0]!;
        if (first.path.length === 0) expect(got, what).toBe(first.message);
      }
    }
    expect(refused).toBeGreaterThan(300);
  });
});

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

  it('cell() answers the checker\'s value for CSV text or NOT_QUICK, never something the checker would refuse or change', () => {
    // Texts near every edge of the fast path: whitespace (ASCII and not), signs, leading zeros, 15/16 digits, ranges,
    // spellings the long way reads (yes, 华为, 2024/2/9), Excel's forms, user-name characters, byte limits, patterns.
    const texts = [
      '0', '1', '007', '48', '1024', '1025', '+5', '-1', '-0', '1.5', '48.0', '.5', '1e3', '123456789012345', '1234567890123456',
      ' 48', '48 ', '\t48', '4 8', '٤٨', '２', 'true', 'false', 'TRUE', 'True', ' true', 'yes', '1 ', '否', 'cisco', 'Cisco',
      ' cisco', 'cisco\u00a0', 'huawei', '华为', 'juniper', '2024-02-29', '2023-02-29', '2024-13-01', '2024/2/9', ' 2024-01-01',
      '2024-01-01 ', '45123', '1.79868E+15', 'E+', 'SW-1', 'SW-x', 'SW-1 ', ' SW-1', 'abc', 'abcd', 'a', 'x'.repeat(256),
      'x'.repeat(257), '交'.repeat(85), '交'.repeat(86), 'x交', '交x', '\u3000x', 'x\u3000', '\ufeffx', 'x\u2028', '\u0001x',
      'admin', ' admin ', 'alice,bob', 'alice;bob', 'alice, bob', '_x', 'a@b.c', 'a-b_c.d', '1abc', '@a', '.a', '[a]',
      'alice|bob', '张三', 'x'.repeat(2000), 'x'.repeat(2001), '"quoted"', 'a\nb',
    ];
    const specs: FieldSpec[] = [
      ...SPECS,
      { name: 'i2', type: 'id', min: 2, max: 9 },
      { name: 'f0', type: 'float' },
      { name: 'up', type: 'objuser', pattern: /^a/ },
      { name: 'st', type: 'string' },
      { name: 'e2', type: 'enum', options: [{ id: ' padded', name: 'Padded' }, { id: '1', name: 'one' }] },
    ];
    let quick = 0;
    for (const f of specs) {
      const check = compileField(f);
      for (const t of texts) {
        const what = `${f.name} (${f.type}) with ${JSON.stringify(t)}`;
        const a = check.cell ? check.cell(t) : NOT_QUICK;
        if (a === NOT_QUICK) continue;
        quick++;
        expect(check(t, true), what).toEqual({ value: a });
        // The rules held to the zod schemas (no code shared with the fast path) take that value as it is.
        expect(targetCheck(f)(a), what).toBeUndefined();
        // And the same answer as the quick path it stands in front of, where that one answers.
        const b = check.accept ? check.accept(t, true) : NOT_QUICK;
        if (b !== NOT_QUICK) expect(a, what).toBe(b);
      }
    }
    expect(quick).toBeGreaterThan(60);
  });

  it('cell() takes the common cells of a bk_switch file, whatever field type they are', () => {
    const cell = (f: FieldSpec, t: string) => compileField(f).cell!(t);
    expect(cell({ name: 'n', type: 'singlechar' }, 'switch-1')).toBe('switch-1');
    expect(cell({ name: 'u', type: 'objuser' }, 'admin')).toBe('admin');
    expect(cell({ name: 'p', type: 'int', min: 1, max: 1024 }, '48')).toBe(48);
    expect(cell({ name: 'b', type: 'bool' }, 'true')).toBe(true);
    expect(cell({ name: 'e', type: 'enum', options: [{ id: 'cisco', name: 'Cisco' }] }, 'cisco')).toBe('cisco');
    expect(cell({ name: 'd', type: 'date' }, '2023-05-17')).toBe('2023-05-17');
    // The long way, for what it must coerce or refuse.
    expect(cell({ name: 'u', type: 'objuser' }, 'alice;bob')).toBe(NOT_QUICK);
    expect(cell({ name: 'p', type: 'int', min: 1, max: 1024 }, '0')).toBe(NOT_QUICK);
    expect(cell({ name: 's', type: 'singlechar' }, '1.79868E+15')).toBe(NOT_QUICK);
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
