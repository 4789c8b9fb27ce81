/**
 * .xlsx reader, streaming (the workbook library's WorkbookReader: one row at a time, a sheet stored before its
 * shared strings is parked in a temp file by the library, not in memory; xlsx-utf8.ts keeps characters whole). This module is imported only when a
 * workbook is read, so that --help and CSV runs never load the library.
 *
 * Two layouts: CMDB's own (column A labels, field ids in row 3, data from row 7: xlsx-cmdb.ts) and a plain sheet
 * (the first non-empty row is the header, as in a CSV). A record's `row` is its row number in the sheet, so the
 * report points at the row a user sees in Excel.
 */
import { UsageError } from '../core/errors.js';
import { nullObject } from '../core/objects.js';
import type { InputRecord, TypeHint } from '../core/types.js';
import { parseHeader } from './csv.js';
import { CellProblem, cellText, isBlankRow } from './xlsx-cells.js';
import { cmdbCellText, cmdbLayout, typeOfName } from './xlsx-cmdb.js';
import { utf8SafeReader } from './xlsx-utf8.js';

export interface XlsxOptions {
  path: string; // the file read
  display: string; // the name for messages
  sheet?: string; // --sheet
  obj?: string; // --obj: the default sheet's name
}

export interface XlsxInput {
  sheet: string;
  layout: 'cmdb' | 'plain';
  columns: string[];
  hints: Record<string, TypeHint>;
  /** Sheet row of the first data row. */
  firstRow: number;
  batches(): AsyncIterable<InputRecord[]>;
}

/** How a data row's cells map to columns. */
interface SheetShape {
  layout: 'cmdb' | 'plain';
  /** Column name by Excel column number (1 = A); undefined: not read. */
  byColumn: Array<string | undefined>;
  /** CMDB layout: bk_property_type by Excel column number, from the type row. */
  types: Array<string | undefined> | null;
  columns: string[];
  firstRow: number;
}

interface SheetRow {
  number: number;
  values: unknown[];
}

const READ_OPTIONS = { sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'cache', worksheets: 'emit', entries: 'ignore' } as const;
const HEAD_ROWS = 7;
const BATCH = 512;

export async function openXlsx(o: XlsxOptions): Promise<XlsxInput> {
  const { name, head } = await pickSheet(o);
  const where = `${o.display} sheet "${name}"`;
  const shape = sheetShape(head, where);
  let hints: Record<string, TypeHint> = Object.create(null);
  if (shape.layout === 'plain') {
    // Header type hints (port_count:int) and the header's own checks, as for CSV.
    const headerRow = head.find((r) => !isBlankRow(r.values))!;
    const header = parseHeader(headerCells(headerRow.values, where), where, headerRow.number);
    hints = header.hints;
    shape.columns = header.columns;
    shape.byColumn = [undefined, ...header.columns];
  }
  return {
    sheet: name,
    layout: shape.layout,
    columns: shape.columns,
    hints,
    firstRow: shape.firstRow,
    batches: () => records(o, name, shape, where),
  };
}

/** The rows of one sheet, in order (the library's rows: `values[c]` is column c's value, 1 = A). */
async function* sheetRows(o: XlsxOptions, sheet: string): AsyncGenerator<{ number: number; values: unknown }> {
  for await (const ws of reader(o)) {
    if (ws.name !== sheet) continue;
    yield* ws;
    return;
  }
}

function reader(o: XlsxOptions): AsyncIterable<AsyncIterable<{ number: number; values: unknown }> & { name: string }> {
  const r = utf8SafeReader(o.path, READ_OPTIONS);
  return guard(r as unknown as AsyncIterable<AsyncIterable<{ number: number; values: unknown }> & { name: string }>, o.display);
}

/** A file that is not a workbook fails inside the library: say so in words. */
async function* guard<T>(it: AsyncIterable<T>, display: string): AsyncGenerator<T> {
  try {
    yield* it;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `${display} is not a readable .xlsx workbook (${(e as Error).message})`,
      'save it from Excel as "Excel Workbook (*.xlsx)" (.xls, .et and .numbers files are not read)',
    );
  }
}

/**
 * The sheet to read and its first rows: --sheet, else the sheet named after --obj, else the first. The workbook
 * is read sheet by sheet in file order, so the first rows of the first sheet are kept until the wanted one shows up.
 */
async function pickSheet(o: XlsxOptions): Promise<{ name: string; head: SheetRow[] }> {
  const names: string[] = [];
  let first: { name: string; head: SheetRow[] } | undefined;
  const wanted = o.sheet ?? o.obj;
  for await (const ws of reader(o)) {
    names.push(ws.name);
    const isWanted = ws.name === wanted;
    if (!isWanted && first) continue;
    const head: SheetRow[] = [];
    for await (const row of ws) {
      head.push({ number: row.number, values: row.values as unknown[] });
      if (head.length >= HEAD_ROWS) break;
    }
    if (isWanted) return { name: ws.name, head: nonEmpty(head, o.display, ws.name) };
    first = { name: ws.name, head };
  }
  if (o.sheet !== undefined) {
    throw new UsageError(`${o.display} has no sheet named "${o.sheet}"`, `its sheets: ${names.map((n) => `"${n}"`).join(', ')}; pick one with --sheet <name>`);
  }
  if (!first) throw new UsageError(`${o.display} has no sheets`);
  return { name: first.name, head: nonEmpty(first.head, o.display, first.name) };
}

function nonEmpty(head: SheetRow[], display: string, sheet: string): SheetRow[] {
  if (!head.some((r) => !isBlankRow(r.values))) {
    throw new UsageError(`${display} sheet "${sheet}" is empty: it needs a header row with the column names`, 'pick the sheet that holds the data with --sheet <name>');
  }
  return head;
}

/** The header cells as text, from column A to the last non-empty one. */
function headerCells(values: unknown[], where: string): string[] {
  const cells: string[] = [];
  for (let c = 1; c < values.length; c++) {
    const t = cellText(values[c]);
    if (t instanceof CellProblem) throw new UsageError(`${where}: header cell ${columnLetter(c)}: ${t.message}`);
    cells.push(t);
  }
  while (cells.length > 0 && cells[cells.length - 1]!.trim() === '') cells.pop();
  return cells;
}

function sheetShape(head: SheetRow[], where: string): SheetShape {
  const columnA = new Map(head.map((r) => [r.number, r.values[1]]));
  const cmdb = cmdbLayout(columnA);
  if (!cmdb) {
    const headerRow = head.find((r) => !isBlankRow(r.values))!;
    return { layout: 'plain', byColumn: [], types: null, columns: [], firstRow: headerRow.number + 1 };
  }
  const row = (n: number) => head.find((r) => r.number === n)?.values ?? [];
  const ids = row(3);
  const typeRow = row(2);
  const byColumn: Array<string | undefined> = [];
  const types: Array<string | undefined> = [];
  const seen = new Map<string, number>();
  for (let c = 2; c < ids.length; c++) {
    const id = typeof ids[c] === 'string' ? (ids[c] as string).trim() : '';
    if (id === '') continue; // a table sub-column or an empty column: CMDB's importer skips it too
    if (seen.has(id)) {
      throw new UsageError(`${where}: field id "${id}" is in row 3 twice (columns ${columnLetter(seen.get(id)!)} and ${columnLetter(c)})`, 'each field may have one column: delete one of them');
    }
    seen.set(id, c);
    byColumn[c] = id;
    types[c] = typeOfName(typeRow[c]);
  }
  if (seen.size === 0) throw new UsageError(`${where}: row 3 (field ids) is empty`, 'download the template again from CMDB (rows 1-3 must stay as they are)');
  return { layout: 'cmdb', byColumn, types, columns: [...seen.keys()], firstRow: cmdb.dataRow };
}

/** The data records, a batch at a time. Empty rows between data rows are reported; trailing ones are not rows. */
async function* records(o: XlsxOptions, sheet: string, shape: SheetShape, where: string): AsyncGenerator<InputRecord[]> {
  let out: InputRecord[] = [];
  let next = shape.firstRow; // the sheet row the next record should have
  for await (const row of sheetRows(o, sheet)) {
    const r: SheetRow = { number: row.number, values: row.values as unknown[] };
    // Column A of CMDB's layout holds labels ("实例数据" on the first data row in some versions), never data.
    if (r.number < shape.firstRow || isBlankRow(r.values, shape.layout === 'cmdb' ? 2 : 1)) continue;
    for (; next < r.number; next++) out.push(emptyRow(next, shape));
    next = r.number + 1;
    out.push(toRecord(r, shape, where));
    if (out.length >= BATCH) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

function emptyValues(shape: SheetShape): Record<string, unknown> {
  const values = nullObject();
  for (const c of shape.columns) values[c] = '';
  return values;
}

function emptyRow(n: number, shape: SheetShape): InputRecord {
  return { row: n, line: n, values: emptyValues(shape), error: `row ${n} is empty: delete the empty row in Excel, or use --skip-invalid to leave it out` };
}

function toRecord(r: SheetRow, shape: SheetShape, where: string): InputRecord {
  const values = emptyValues(shape);
  const problems: string[] = [];
  const cells = r.values;
  for (let c = 1; c < cells.length; c++) {
    const v = cells[c];
    if (v === null || v === undefined) continue;
    const name = shape.byColumn[c];
    if (name === undefined) {
      if (shape.layout === 'plain' && !isBlankRow([undefined, v])) problems.push(`cell ${columnLetter(c)}${r.number} is outside the header (column ${columnLetter(c)} has no name)`);
      continue;
    }
    const t = cellText(v);
    if (t instanceof CellProblem) {
      problems.push(`${name} (cell ${columnLetter(c)}${r.number}): ${t.message}`);
      values[name] = shownText(v);
      continue;
    }
    values[name] = shape.types ? cmdbCellText(t, shape.types[c]) : t;
  }
  if (problems.length > 0) return { row: r.number, line: r.number, values, error: `${where} row ${r.number}: ${problems.join('; ')}` };
  return { row: r.number, line: r.number, values };
}

/** A refused cell as the user sees it, for the report and the --failed file. */
function shownText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return String(v);
  const o = v as { error?: string; formula?: string; sharedFormula?: string };
  if (o.error !== undefined) return o.error;
  if (o.formula !== undefined) return `=${o.formula}`;
  if (o.sharedFormula !== undefined) return `=${o.sharedFormula}`;
  return '';
}

/** 1 → A, 27 → AA. */
export function columnLetter(n: number): string {
  let s = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) s = String.fromCharCode(65 + ((k - 1) % 26)) + s;
  return s;
}
