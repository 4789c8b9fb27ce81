/**
 * .xlsx reader, streaming: the workbook library's WorkbookReader gives one row at a time (a sheet stored before its
 * shared strings is parked in a temp file by the library, not in memory; xlsx-reader.ts works around two of its
 * bugs). This module is imported only when a workbook is read, so that --help and CSV runs never load the library.
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
import { ASSOCIATION_COLUMNS, ASSOCIATION_FIRST_ROW, cmdbCellText, cmdbLayout, isAssociationSheet, typeOfName } from './xlsx-cmdb.js';
import { utf8SafeReader } from './xlsx-reader.js';

export interface XlsxOptions {
  path: string; // the file read
  display: string; // the name for messages
  sheet?: string; // --sheet
  obj?: string; // --obj: the default sheet's name
  prefer?: string; // the sheet read by default when there is one, before --obj's (associate: CMDB's "association")
}

/** CMDB's instance sheet, its association sheet, or a plain header row. */
export type SheetLayout = 'cmdb' | 'cmdb-association' | 'plain';

export interface XlsxInput {
  sheet: string;
  layout: SheetLayout;
  columns: string[];
  hints: Record<string, TypeHint>;
  /** Sheet row of the first data row. */
  firstRow: number;
  batches(): AsyncIterable<InputRecord[]>;
  /** Closes the reader opening left open, if no read took it over. */
  close(): Promise<void>;
}

/** How a data row's cells map to columns. */
interface SheetShape {
  layout: SheetLayout;
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
  const picked = await pickSheet(o);
  const { name, head } = picked;
  const where = `${o.display} sheet "${name}"`;
  try {
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
      // The first read goes on from where opening stopped (one read of the workbook fewer); later ones start anew.
      batches: () => records(picked.takeRows() ?? sheetRows(o, name), shape, o.display),
      close: picked.close,
    };
  } catch (e) {
    await picked.close();
    throw e;
  }
}

type LibRow = { number: number; values: unknown };
type LibSheet = AsyncIterable<LibRow> & { name: string };

/** The rows of one sheet, in order (the library's rows: `values[c]` is column c's value, 1 = A). */
async function* sheetRows(o: XlsxOptions, sheet: string): AsyncGenerator<LibRow> {
  for await (const ws of reader(o)) {
    if (ws.name !== sheet) continue;
    yield* ws;
    return;
  }
}

function reader(o: XlsxOptions): AsyncIterable<LibSheet> {
  const r = utf8SafeReader(o.path, READ_OPTIONS);
  return guard(r as unknown as AsyncIterable<LibSheet>, o.display);
}

/** A file that is not a workbook fails inside the library: say so in words. */
async function* guard<T>(it: AsyncIterable<T>, display: string): AsyncGenerator<T> {
  try {
    yield* it;
  } catch (e) {
    throw unreadable(e, display);
  }
}

function unreadable(e: unknown, display: string): unknown {
  if (e instanceof UsageError || !(e instanceof Error)) return e;
  return new UsageError(
    `${display} is not a readable .xlsx workbook (${e.message})`,
    'save it from Excel as "Excel Workbook (*.xlsx)" (.xls, .et and .numbers files are not read)',
  );
}

/** The sheet chosen at open, its first rows, and the open reader positioned after them (until taken or closed). */
interface Picked {
  name: string;
  head: SheetRow[];
  /** The sheet's rows from the start (head first), read on from the open reader; null once taken (or never open). */
  takeRows(): AsyncIterable<LibRow> | null;
  close(): Promise<void>;
}

/**
 * The sheet to read and its first rows: --sheet; else the `prefer`red sheet, else the sheet named after --obj, else
 * the first. The workbook is read sheet by sheet in file order, so the first rows of the sheets that may be the one
 * are kept until a better one shows up (the one named first in that order is read on at once).
 */
async function pickSheet(o: XlsxOptions): Promise<Picked> {
  const names: string[] = [];
  const order = o.sheet !== undefined ? [o.sheet] : [o.prefer, o.obj].filter((n): n is string => n !== undefined);
  // The best candidate seen so far (its rank in `order`; the first sheet ranks last) and its first rows.
  let best: { name: string; head: SheetRow[]; rank: number } | undefined;
  const sheets = reader(o)[Symbol.asyncIterator]();
  const closeReader = async () => {
    await sheets.return?.();
  };
  try {
    for (let s = await sheets.next(); !s.done; s = await sheets.next()) {
      const ws = s.value;
      names.push(ws.name);
      const found = order.indexOf(ws.name);
      const rank = found < 0 ? order.length : found;
      // Without --sheet, a preference or --obj the first sheet is the one: no need to look further.
      if (rank === 0) {
        const rows = ws[Symbol.asyncIterator]();
        const head = await headRows(rows);
        nonEmpty(head, o.display, ws.name);
        return keepOpen(ws.name, head, rows, closeReader);
      }
      if (best && best.rank <= rank) continue;
      if (rank === order.length && o.sheet !== undefined) continue; // --sheet: nothing else will do
      const rows = ws[Symbol.asyncIterator]();
      const head = await headRows(rows);
      await rows.return?.();
      best = { name: ws.name, head, rank };
    }
  } catch (e) {
    await closeReader();
    throw e;
  }
  if (o.sheet !== undefined) {
    throw new UsageError(`${o.display} has no sheet named "${o.sheet}"`, `its sheets: ${names.map((n) => `"${n}"`).join(', ')}; pick one with --sheet <name>`);
  }
  if (!best) throw new UsageError(`${o.display} has no sheets`);
  return { name: best.name, head: nonEmpty(best.head, o.display, best.name), takeRows: () => null, close: async () => {} };
}

/**
 * The sheet picked, with its reader left open for the first read. Once taken (or closed) nothing here refers to
 * the reader any more: it holds the workbook's whole shared-strings table, which must not outlive its read.
 */
function keepOpen(name: string, head: SheetRow[], rows: AsyncIterator<LibRow>, closeReader: () => Promise<void>): Picked {
  let open: { rows: AsyncIterator<LibRow>; close: () => Promise<void> } | null = { rows, close: closeReader };
  return {
    name,
    head,
    takeRows() {
      if (!open) return null;
      const { rows: r, close } = open;
      open = null;
      return resumed(head, r, close);
    },
    async close() {
      const o = open;
      open = null;
      await o?.close();
    },
  };
}

async function headRows(rows: AsyncIterator<LibRow>): Promise<SheetRow[]> {
  const head: SheetRow[] = [];
  while (head.length < HEAD_ROWS) {
    const r = await rows.next();
    if (r.done) break;
    head.push({ number: r.value.number, values: r.value.values as unknown[] });
  }
  return head;
}

/** The head rows again, then the rest of the open sheet; the reader is closed at the end (or when stopped early). */
async function* resumed(head: SheetRow[], rows: AsyncIterator<LibRow>, close: () => Promise<void>): AsyncGenerator<LibRow> {
  try {
    yield* head;
    for (let r = await rows.next(); !r.done; r = await rows.next()) yield r.value;
  } finally {
    await close();
  }
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
  const top = head.find((r) => r.number === 1);
  if (top && isAssociationSheet(top.values)) {
    const columns = ASSOCIATION_COLUMNS.filter((c): c is string => c !== undefined);
    return { layout: 'cmdb-association', byColumn: ASSOCIATION_COLUMNS, types: null, columns, firstRow: ASSOCIATION_FIRST_ROW };
  }
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
async function* records(rows: AsyncIterable<LibRow>, shape: SheetShape, display: string): AsyncGenerator<InputRecord[]> {
  let out: InputRecord[] = [];
  let next = shape.firstRow; // the sheet row the next record should have
  try {
    for await (const row of rows) {
      const r: SheetRow = { number: row.number, values: row.values as unknown[] };
      // Column A of CMDB's layout holds labels ("实例数据" on the first data row in some versions), never data.
      if (r.number < shape.firstRow || isBlankRow(r.values, shape.layout === 'plain' ? 1 : 2)) continue;
      for (; next < r.number; next++) out.push(emptyRow(next, shape));
      next = r.number + 1;
      out.push(toRecord(r, shape));
      if (out.length >= BATCH) {
        yield out;
        out = [];
      }
    }
  } catch (e) {
    throw unreadable(e, display);
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

function toRecord(r: SheetRow, shape: SheetShape): InputRecord {
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
  // The report's row is the sheet row, so the message names the cells only.
  if (problems.length > 0) return { row: r.number, line: r.number, values, error: problems.join('; ') };
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
