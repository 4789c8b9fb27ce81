import { describe, expect, it } from 'vitest';
import { displayKey } from '../../src/schema/display-names.js';
import { attributeToField } from '../../src/schema/model.js';
import { buildShape, fieldOf, shapeRow, unknownColumns } from '../../src/schema/rows.js';

const attrs = [
  { bk_property_id: 'bk_inst_name', bk_property_name: '实例名', bk_property_type: 'singlechar', isrequired: true },
  { bk_property_id: 'bk_asset_id', bk_property_name: 'Asset ID', bk_property_type: 'singlechar', isrequired: true, isonly: true },
  { bk_property_id: 'port_count', bk_property_name: '端口数', bk_property_type: 'int' },
  { bk_property_id: 'vendor', bk_property_name: '厂商', bk_property_type: 'enum', option: [{ id: 'huawei', name: '华为' }] },
  { bk_property_id: 'note_a', bk_property_name: '备注', bk_property_type: 'longchar' },
  { bk_property_id: 'note_b', bk_property_name: '备注', bk_property_type: 'longchar' },
];
const shape = () => buildShape(attrs.map(attributeToField), { checkRequired: true, what: 'model bk_switch' });

describe('display-name headers', () => {
  it('normalises: trimmed, any case, (必填) / (Required) dropped', () => {
    expect(displayKey('  实例名(必填) ')).toBe('实例名');
    expect(displayKey('Asset ID (Required)')).toBe('asset id');
    expect(displayKey('实例名（必填）')).toBe('实例名');
  });

  it('a header naming one field by its display name is that field; messages keep the header', () => {
    const s = shape();
    expect(unknownColumns(s, ['实例名(必填)', ' asset id ', '端口数', '厂商'])).toEqual([]);
    const r = shapeRow(s, { '实例名(必填)': 'sw-1', ' asset id ': 'A1', 端口数: '48', 厂商: '华为' }, true, true);
    expect(r.errors).toEqual([]);
    expect({ ...r.payload }).toEqual({ bk_inst_name: 'sw-1', bk_asset_id: 'A1', port_count: 48, vendor: 'huawei' });
    const bad = shapeRow(s, { '实例名(必填)': 'sw-1', ' asset id ': 'A1', 端口数: 'many' }, true, true);
    expect(bad.errors.map((e) => e.message)).toEqual(['端口数: expected a whole number, got "many"']);
  });

  it('JSON keys may be display names too', () => {
    const r = shapeRow(shape(), { 实例名: 'sw-1', 'Asset ID': 'A1', 端口数: 7 }, false, false);
    expect(r.errors).toEqual([]);
    expect({ ...r.payload }).toEqual({ bk_inst_name: 'sw-1', bk_asset_id: 'A1', port_count: 7 });
  });

  it('refuses a display name several fields share, naming them, and two columns for one field', () => {
    const msgs = unknownColumns(shape(), ['bk_inst_name', '实例名', '备注']).map((e) => e.message);
    expect(msgs).toEqual([
      'columns "bk_inst_name" and "实例名" both name field bk_inst_name of model bk_switch: keep one of them',
      '"备注" is the display name of 2 fields of model bk_switch (note_a, note_b): use the field id as the header',
    ]);
  });

  it('did-you-mean considers display names, and never suggests --no-schema', () => {
    const msgs = unknownColumns(shape(), ['端口', 'Asset IDs', 'port_cuont']).map((e) => e.message);
    expect(msgs).toEqual([
      'unknown field "端口" for model bk_switch (did you mean "端口数" (port_count)?); the server would silently drop it',
      'unknown field "Asset IDs" for model bk_switch (did you mean "Asset ID" (bk_asset_id)?); the server would silently drop it',
      'unknown field "port_cuont" for model bk_switch (did you mean "port_count"?); the server would silently drop it',
    ]);
    expect(msgs.join()).not.toMatch(/no-schema/);
  });

  it('a field id wins over another field\'s display name', () => {
    const s = buildShape(
      [
        attributeToField({ bk_property_id: 'vendor', bk_property_name: '厂商', bk_property_type: 'singlechar' }),
        attributeToField({ bk_property_id: 'maker', bk_property_name: 'vendor', bk_property_type: 'singlechar' }),
      ],
      { what: 'm' },
    );
    expect({ ...shapeRow(s, { vendor: 'x' }, true, false).payload }).toEqual({ vendor: 'x' });
  });

  it('fieldOf tells which field a column names', () => {
    const s = shape();
    expect(['端口数', 'ASSET ID (Required)', 'port_count', '备注', 'nope'].map((c) => fieldOf(s, c))).toEqual(['port_count', 'bk_asset_id', 'port_count', undefined, undefined]);
  });
});
