import { describe, expect, it } from 'vitest';
import { compileField, didYouMean } from '../../src/schema/fields.js';
import { attributeToField } from '../../src/schema/model.js';
import { buildShape, shapeRow, unknownColumns } from '../../src/schema/rows.js';

const attrs = [
  { bk_property_id: 'bk_inst_name', bk_property_type: 'singlechar', isrequired: true, option: '' },
  { bk_property_id: 'bk_asset_id', bk_property_type: 'singlechar', isrequired: true, isonly: true },
  { bk_property_id: 'port_count', bk_property_type: 'int', option: { min: '1', max: '1024' } },
  { bk_property_id: 'is_managed', bk_property_type: 'bool' },
  { bk_property_id: 'vendor', bk_property_type: 'enum', option: [{ id: 'cisco', name: 'Cisco' }, { id: 'huawei', name: '华为' }] },
  { bk_property_id: 'bought_on', bk_property_type: 'date' },
  { bk_property_id: 'tags', bk_property_type: 'enummulti', option: [{ id: 'core', name: 'Core' }, { id: 'edge', name: 'Edge' }] },
  { bk_property_id: 'bk_operator', bk_property_type: 'objuser' },
  { bk_property_id: 'throughput', bk_property_type: 'float' },
];
const shape = buildShape(attrs.map(attributeToField), { checkRequired: true, what: 'model bk_switch' });

describe('coercion of CSV text by attribute type', () => {
  it('turns cells into the JSON types the server accepts', () => {
    const r = shapeRow(shape, { bk_inst_name: '核心-01', bk_asset_id: 'A1', port_count: '48', is_managed: 'yes', vendor: '华为', bought_on: '2024/3/5', tags: 'core, Edge', bk_operator: 'alice, bob', throughput: '1.5e3' }, true, true);
    expect(r.errors).toEqual([]);
    expect({ ...r.payload }).toEqual({ bk_inst_name: '核心-01', bk_asset_id: 'A1', port_count: 48, is_managed: true, vendor: 'huawei', bought_on: '2024-03-05', tags: ['core', 'edge'], bk_operator: 'alice,bob', throughput: 1500 });
  });

  it('reports every problem of a row with field, value and expectation', () => {
    const r = shapeRow(shape, { bk_inst_name: '', port_count: '2000', is_managed: 'maybe', vendor: 'juniper', bought_on: '2024-02-30' }, true, true);
    const msgs = r.errors.map((e) => e.message).join('\n');
    expect(msgs).toMatch(/port_count: expected at most 1024, got "2000"/);
    expect(msgs).toMatch(/is_managed: expected true or false.*"maybe"/);
    expect(msgs).toMatch(/vendor: expected one of cisco, huawei.*"juniper"/);
    expect(msgs).toMatch(/bought_on: expected a real calendar date/);
    expect(msgs).toMatch(/bk_inst_name is required/);
    expect(msgs).toMatch(/bk_asset_id is required/);
    expect(r.errors).toHaveLength(6);
  });

  it('keeps JSON types and rejects strings where numbers are needed', () => {
    const bad = shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', port_count: '48', is_managed: 'true' }, false, false);
    expect(bad.errors.map((e) => e.field)).toEqual(['port_count', 'is_managed']);
    const good = shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', port_count: 48, is_managed: false, vendor: null }, false, false);
    expect(good.errors).toEqual([]);
    expect(good.payload.vendor).toBeNull();
  });

  it('rejects unknown fields with a suggestion', () => {
    expect(unknownColumns(shape, ['bk_inst_name', 'port_cuont'])[0]!.message).toMatch(/unknown field "port_cuont".*did you mean "port_count"/);
    const r = shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', vendr: 'cisco' }, false, false);
    expect(r.errors[0]!.message).toMatch(/did you mean "vendor"/);
  });

  it('empty cells are left out, or sent as null with --empty null', () => {
    expect('port_count' in shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', port_count: '' }, true, true).payload).toBe(false);
    const nul = buildShape(attrs.map(attributeToField), { empty: 'null', what: 'm' });
    expect(shapeRow(nul, { port_count: '' }, true, true).payload.port_count).toBeNull();
    expect(shapeRow(nul, { bk_inst_name: '' }, true, true).errors[0]!.message).toMatch(/cannot be cleared/);
  });

  it('treats __proto__ and constructor as data', () => {
    const values = JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "x"}');
    const open = buildShape([], { allowUnknown: true, what: 'm' });
    const r = shapeRow(open, values, false, false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(r.payload)).toBeNull();
  });

  it('ids must be positive whole numbers', () => {
    const id = compileField({ name: 'bk_inst_id', type: 'id' });
    expect(id('12', true)).toEqual({ value: 12 });
    expect(id('0', true).error).toMatch(/positive/);
    expect(id('1.5', true).error).toBeDefined();
  });

  it('header type hints work without a model', () => {
    const hinted = buildShape([], { allowUnknown: true, hints: { port_count: 'int', is_managed: 'bool', bind_info: 'json' }, what: 'm' });
    const r = shapeRow(hinted, { port_count: '7', is_managed: 'no', bind_info: '[{"port":"80"}]', other: 'text' }, true, true);
    expect({ ...r.payload }).toEqual({ port_count: 7, is_managed: false, bind_info: [{ port: '80' }], other: 'text' });
  });

  it('suggests near names only', () => {
    expect(didYouMean('bk_asset', ['bk_asset_id', 'bk_sn'])).toBe('bk_asset_id');
    expect(didYouMean('zzzzzz', ['bk_asset_id'])).toBeUndefined();
  });
});

describe('what Excel does to numbers and dates', () => {
  const one = (values: Record<string, string>) => shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', ...values }, true, false);

  it('48.0 for an int is 48 (exact); 48.5 is refused', () => {
    expect({ ...one({ port_count: '48.0' }).payload }).toMatchObject({ port_count: 48 });
    expect(one({ port_count: ' -0.00 ' }).errors[0]!.message).toContain('expected at least 1');
    expect(one({ port_count: '48.5' }).errors.map((e) => e.message)).toEqual(['port_count: expected a whole number, got "48.5"']);
  });

  it('a number Excel wrote in scientific notation (12 digits or more) is refused in text and int fields, naming the digits lost', () => {
    const r = one({ bk_asset_id: '1.79868E+15', port_count: '1E+11' });
    expect(r.errors.map((e) => e.message)).toEqual([
      'bk_asset_id: "1.79868E+15" is a number Excel rounded to scientific notation (the digits after the 6th are lost): format the column as Text in Excel (ids of more than 15 digits before they are pasted in) and save the file again',
      'port_count: "1E+11" is a number Excel rounded to scientific notation (the digits after the 1st are lost): format the column as Number with 0 decimal places in Excel and save the file again',
    ]);
    // Not what Excel writes for a number: left as text (text fields), or the usual message (ints); floats take it.
    expect(one({ bk_asset_id: '1.5E+3' }).errors).toEqual([]);
    expect(one({ bk_asset_id: 'SW-1E+15' }).errors).toEqual([]);
    expect(one({ port_count: '1.5E+3' }).errors[0]!.message).toBe('port_count: expected a whole number, got "1.5E+3"');
    expect(one({ throughput: '1.79868E+15' }).payload.throughput).toBe(1.79868e15);
    // JSON strings are not Excel's cells: kept as they are.
    expect(shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: '1.79868E+15' }, false, false).errors).toEqual([]);
  });

  it('an Excel date serial number in a date field is refused, naming the date it stands for', () => {
    expect(one({ bought_on: '45123' }).errors[0]!.message).toBe(
      'bought_on: "45123" is an Excel date serial number (it would be 2023-07-16): format the column as a date (YYYY-MM-DD) or as Text in Excel and save the file again',
    );
    expect(one({ bought_on: '36526.75' }).errors[0]!.message).toContain('(it would be 2000-01-01)');
    expect(one({ bought_on: '2023' }).errors[0]!.message).toBe('bought_on: expected a date YYYY-MM-DD, got "2023"');
  });
});

describe('enum display names in JSON', () => {
  it('a JSON string may name an option by its display name (or its id in another case), as a CSV cell may', () => {
    const r = shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', vendor: ' 华为 ', tags: ['Edge', 'core'] }, false, false);
    expect(r.errors).toEqual([]);
    expect({ ...r.payload }).toMatchObject({ vendor: 'huawei', tags: ['edge', 'core'] });
    expect(shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', vendor: 'CISCO' }, false, false).payload.vendor).toBe('cisco');
    // A number that is an option id's digits (hosts exported by other tools: "bk_os_type": 1).
    const os = buildShape([attributeToField({ bk_property_id: 'bk_os_type', bk_property_type: 'enum', option: [{ id: '1', name: 'Linux' }, { id: '2', name: 'Windows' }] })], { what: 'model host' });
    expect({ ...shapeRow(os, { bk_os_type: 1 }, false, false).payload }).toEqual({ bk_os_type: '1' });
    expect({ ...shapeRow(os, { bk_os_type: 'linux' }, false, false).payload }).toEqual({ bk_os_type: '1' });
    expect(shapeRow(os, { bk_os_type: 3 }, false, false).errors.map((e) => e.message)).toEqual(['bk_os_type: expected one of 1, 2, got number 3']);
    const bad = shapeRow(shape, { bk_inst_name: 'x', bk_asset_id: 'A', vendor: 'Juniper', tags: 'core' }, false, false);
    expect(bad.errors.map((e) => e.message)).toEqual(['vendor: expected one of cisco, huawei, got "Juniper"', 'tags: expected a list of option ids, got "core"']);
  });
});

describe('checks as CMDB checks (bk-cmdb src/common/metadata/attribute.go)', () => {
  const attr = (type: string, extra: Record<string, unknown> = {}) => compileField(attributeToField({ bk_property_id: 'f', bk_property_type: type, ...extra }));

  it('lengths are UTF-8 bytes: 85 Chinese characters fit a singlechar, 86 do not', () => {
    const c = attr('singlechar');
    expect(c('交'.repeat(85), true)).toEqual({ value: '交'.repeat(85) });
    expect(c('交'.repeat(86), true).error).toMatch(/at most 256 bytes of UTF-8/);
    expect(attr('longchar')('é'.repeat(1001), false).error).toMatch(/at most 2000 bytes/);
  });

  it('text is trimmed as the server trims it, from CSV and JSON alike', () => {
    expect(attr('singlechar')('  SW-1 ', true)).toEqual({ value: 'SW-1' });
    expect(attr('longchar')(' note\t', false)).toEqual({ value: 'note' });
    expect(attr('objuser')(' admin ', false)).toEqual({ value: 'admin' });
  });

  it('time: "YYYY-MM-DD HH:MM:SS" or RFC 3339 with a zone; a zone-less ISO cell is sent in the space form', () => {
    const t = attr('time');
    expect(t('2024-05-01 08:00:00', true)).toEqual({ value: '2024-05-01 08:00:00' });
    expect(t('2024-05-01T08:00:00+08:00', false)).toEqual({ value: '2024-05-01T08:00:00+08:00' });
    expect(t('2024-05-01T08:00:00', true)).toEqual({ value: '2024-05-01 08:00:00' });
    expect(t('2024-05-01T08:00:00', false).error).toMatch(/expected a time/);
    expect(t('2024-05-01 08:00', true).error).toMatch(/expected a time/);
  });

  it('objuser: the server pattern, and one user when ismultiple is false', () => {
    expect(attr('objuser', { ismultiple: true })('alice,bob', false)).toEqual({ value: 'alice,bob' });
    expect(attr('objuser', { ismultiple: false })('alice,bob', false).error).toMatch(/one user/);
    expect(attr('objuser', { ismultiple: false })('alice;bob', true).error).toMatch(/one user/);
    expect(attr('objuser')('张三', false).error).toMatch(/user names of letters, digits/);
  });

  it('enummulti / organization: one value when ismultiple is false', () => {
    const opts = [{ id: 'a', name: 'A' }, { id: 'b', name: 'B' }];
    expect(attr('enummulti', { ismultiple: false, option: opts })('a,b', true).error).toMatch(/one option/);
    expect(attr('enummulti', { ismultiple: true, option: opts })('a,b', true)).toEqual({ value: ['a', 'b'] });
    expect(attr('organization', { ismultiple: false })([1, 2], false).error).toMatch(/one organization id/);
  });

  it('enumquote: a list of instance ids (one when ismultiple is false)', () => {
    const single = attr('enumquote', { ismultiple: false, option: [{ bk_obj_id: 'bk_switch', bk_inst_id: 1001 }] });
    expect(single('1001', true)).toEqual({ value: [1001] });
    expect(single([1001], false)).toEqual({ value: [1001] });
    expect(single('1001,1002', true).error).toMatch(/one instance id/);
    expect(single('sw-1', true).error).toMatch(/instance ids/);
    expect(attr('enumquote', { ismultiple: true })('1001,1002', true)).toEqual({ value: [1001, 1002] });
  });
});
