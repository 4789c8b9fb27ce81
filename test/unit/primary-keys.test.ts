import { describe, expect, it } from 'vitest';
import { parsePrimary } from '../../src/operations/cmdb/primary-keys.js';

describe("CMDB's association sheet: primary-key texts", () => {
  it('reads "display name=value" pairs joined by "," (import_association.go parseImportDataPrimaryItem)', () => {
    expect(parsePrimary('实例名=sw-01')).toEqual([{ name: '实例名', value: 'sw-01' }]);
    expect(parsePrimary('内网IP=10.0.0.1, 管控区域=0')).toEqual([{ name: '内网IP', value: '10.0.0.1' }, { name: '管控区域', value: '0' }]);
  });

  it('refuses what is not pairs, saying how to write them', () => {
    for (const bad of ['sw-01', '实例名=', '=sw-01', 'a=b=c', '实例名=sw-01,']) {
      expect(parsePrimary(bad)).toMatch(/is not a list of field=value pairs: write "field name=value"/);
    }
  });
});
