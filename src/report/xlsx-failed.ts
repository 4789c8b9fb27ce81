/**
 * `--failed` of an .xlsx input: a workbook with the input's columns and an `_error` column last, one row per row
 * that did not end ok, so it can be fixed in Excel and loaded again as it is (a plain sheet: the reader takes its
 * header row; for CMDB's layout the header is the field ids, which need no display names to load).
 */
import { UsageError } from '../core/errors.js';
import { openPlainSheet, type SheetWriter } from './xlsx-writer.js';

export class XlsxFailedRows {
  private n = 0;
  private constructor(
    private readonly sheet: SheetWriter,
    private readonly keys: string[],
  ) {}

  /** `columns`: [header text, key in values] in order; the writer adds `errorColumn` after them. */
  static async open(path: string, sheetName: string, columns: [string, string][], errorColumn: string): Promise<XlsxFailedRows> {
    try {
      const sheet = await openPlainSheet(path, sheetName, [...columns.map(([header]) => header), errorColumn]);
      return new XlsxFailedRows(sheet, columns.map(([, key]) => key));
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new UsageError(`cannot write the failed-rows file ${path}: ${err.code ?? err.message}`, 'choose another path with --failed');
    }
  }

  get count(): number {
    return this.n;
  }

  add(values: Record<string, unknown>, error: string): void {
    this.sheet.addRow([...this.keys.map((k) => values[k]), error]);
    this.n++;
  }

  /** Rows are streamed to the file as they are added; nothing to do between batches. */
  flush(): void {}

  finish(): Promise<void> {
    return this.sheet.finish();
  }
}
