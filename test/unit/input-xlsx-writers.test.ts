/**
 * Workbooks written by writers this project does not use (XlsxWriter with shared strings and with inline strings,
 * openpyxl), made by test/workbooks/make.py and committed: the tool's own reader gives every cell as the writer meant
 * it (and as Excel shows it), not only for the files the project's own workbook library writes.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readAll } from './input-helpers.js';

const file = (name: string) => fileURLToPath(new URL(`../workbooks/${name}.xlsx`, import.meta.url));

/** Rows 2–4 as make.py writes them (dates and times in their number formats, a 1900 date before the leap-year bug). */
const ROWS = [
  { bk_inst_name: 'sw-1', bk_asset_id: 'A-0001', port_count: '48', is_managed: 'true', bought_on: '2024-05-01', seen_at: '2024-05-01 13:05:09', remark: '交换机 "核心" <a&b>', ratio: '0.25' },
  { bk_inst_name: 'sw-2', bk_asset_id: '00123', port_count: '24', is_managed: 'false', bought_on: '1900-02-28', seen_at: '2023-12-31 23:59:59', remark: 'line1\nline2', ratio: '1.5' },
  { bk_inst_name: 'sw-3', bk_asset_id: '=not a formula', port_count: '1', is_managed: 'true', bought_on: '2030-01-31', seen_at: '2024-02-29', remark: 'under_x0041_score', ratio: '3' },
];
const EMPTY = { bk_asset_id: '', is_managed: '', bought_on: '', seen_at: '', ratio: '' };

describe('workbooks from other writers', () => {
  for (const name of ['xlsxwriter-shared', 'xlsxwriter-inline']) {
    it(`${name}: every cell as written; a formula's saved result; rich text as its plain text; the first tab by default`, async () => {
      const recs = await readAll({ file: file(name) });
      expect(recs.map((r) => r.row)).toEqual([2, 3, 4, 5]);
      expect(recs.map((r) => ({ ...r.values }))).toEqual([...ROWS, { bk_inst_name: 'sw-4', port_count: '72', remark: 'rich text', ...EMPTY }]);
      expect(recs.every((r) => r.error === undefined)).toBe(true);
    });
  }

  it("openpyxl: inline strings, typed cells; a formula saved without its value is refused; an unescaped _x0041_ reads as Excel shows it", async () => {
    const recs = await readAll({ file: file('openpyxl'), obj: 'bk_switch' });
    // openpyxl writes text as it is, so `_x0041_` in it is Excel's escape for "A" (XlsxWriter writes `_x005F_x0041_`).
    expect(recs.slice(0, 3).map((r) => ({ ...r.values }))).toEqual([ROWS[0], ROWS[1], { ...ROWS[2], remark: 'underAscore' }]);
    expect(recs[3]).toMatchObject({ row: 5, error: expect.stringContaining('port_count (cell C5): the cell holds a formula without a saved value') });
  });
});
