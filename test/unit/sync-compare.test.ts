import { describe, expect, it } from 'vitest';
import { changedFields, describeChanges, sameValue } from '../../src/operations/sync-compare.js';

describe('sync: equal as the server stores it', () => {
  it('text is compared trimmed; empty, null and absent are "no value"', () => {
    expect(sameValue(' core-sw ', 'core-sw')).toBe(true);
    expect(sameValue('', null)).toBe(true);
    expect(sameValue(undefined, null)).toBe(true);
    expect(sameValue('a', 'b')).toBe(false);
    expect(sameValue('', 'x')).toBe(false);
  });

  it('numbers and booleans as JSON values: 48 is not "48", true is not "true"', () => {
    expect(sameValue(48, 48)).toBe(true);
    expect(sameValue(48, '48')).toBe(false);
    expect(sameValue(true, 'true')).toBe(false);
    expect(sameValue(false, false)).toBe(true);
  });

  it('a list is a set of items; an empty list is no value; objects ignore key order', () => {
    expect(sameValue(['core', 'lab'], ['lab', 'core'])).toBe(true);
    expect(sameValue(['core'], ['core', 'lab'])).toBe(false);
    expect(sameValue([], null)).toBe(true);
    expect(sameValue({ a: 1, b: ' x ' }, { b: 'x', a: 1 })).toBe(true);
  });

  it('changedFields lists only the differing fields, never the skipped ones, with the server value before', () => {
    const changes = changedFields({ bk_asset_id: 'A', port_count: 24, vendor: 'h3c', bk_inst_name: 'n' }, { bk_asset_id: 'a', port_count: 48, vendor: 'h3c', bk_inst_name: 'n ' }, new Set(['bk_asset_id']));
    expect([...changes]).toEqual([['port_count', [48, 24]]]);
    expect(describeChanges(changes)).toBe('port_count: 48 → 24');
    expect([...changedFields({ remark: 'x' }, {}, new Set())]).toEqual([['remark', [null, 'x']]]);
  });
});
