/**
 * .xlsx reader, streaming, the tool's own: the zip's directory (zip.ts), the workbook's sheets, date system and date
 * styles (xlsx-book.ts), the shared strings spooled to a temp file (xlsx-strings.ts), and the sheet's XML scanned a
 * piece at a time into rows (xlsx-sheet.ts). No workbook library is loaded to read (it is only for writing
 * workbooks: export, --failed); docs/decisions.md says why.
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
import { type Book, readBook } from './xlsx-book.js';
import { type SheetRow, sheetRows } from './xlsx-sheet.js';
import { SpooledStrings, readSharedStrings, removeSoon } from './xlsx-strings.js';
import { ZipFile, notAWorkbook } from './zip.js';

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
  /** Closes the workbook's file and removes its shared-strings spool (idempotent). */
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

const HEAD_ROWS = 7;
const BATCH = 512;

export async function openXlsx(o: XlsxOptions): Promise<XlsxInput> {
  const wb = await openWorkbook(o.path, o.display);
  try {
    const name = pickSheet(wb.book, o);
    const where = `${o.display} sheet "${name}"`;
    const head = nonEmpty(await headRows(wb.rows(name)), o.display, name);
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
      // Every read starts at the top of the sheet (opening read only its first rows).
      batches: () => records(wb.rows(name), shape, o.display),
      close: wb.close,
    };
  } catch (e) {
    await wb.close();
    throw e;
  }
}

/** An open workbook: its zip, what xl/workbook.xml and styles say, its shared strings; a sheet's rows on request. */
interface OpenWorkbook {
  book: Book;
  /** The sheet's rows in order, as many as the consumer takes (the sheet is read as they are taken). */
  rows(sheet: string): AsyncGenerator<SheetRow[]>;
  /** Closes the file and removes the shared strings' temp files (idempotent). */
  close(): Promise<void>;
}

async function openWorkbook(path: string, display: string): Promise<OpenWorkbook> {
  let zip: ZipFile;
  try {
    zip = await ZipFile.open(path, display);
  } catch (e) {
    throw unreadable(e, display);
  }
  let strings: SpooledStrings | null = null;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (strings) {
      strings.close();
      removeSoon(strings.dir);
    }
    await zip.close();
  };
  try {
    const book = await readBook(zip, display);
    // The shared strings are spooled when a sheet is first read: a --sheet naming no sheet is told at once.
    let spooled: Promise<void> | null = null;
    const spool = () =>
      (spooled ??= (async () => {
        if (!book.sharedStrings) return;
        strings = new SpooledStrings();
        await readSharedStrings(zip.read(book.sharedStrings), strings);
      })());
    const cx = { sharedString: (i: number) => strings?.get(i), dateStyles: book.dateStyles, date1904: book.date1904 };
    async function* rows(sheet: string): AsyncGenerator<SheetRow[]> {
      const ref = book.sheets.find((s) => s.name === sheet)!;
      const entry = zip.entry(ref.part);
      if (!entry) throw notAWorkbook(display, `sheet "${sheet}" has no part ${ref.part} in the file`);
      await spool();
      yield* sheetRows(zip.read(entry), cx);
    }
    return { book, rows: (sheet) => guard(rows(sheet), display), close };
  } catch (e) {
    await close();
    throw unreadable(e, display);
  }
}

/** A file that turns out not to be a workbook (or a damaged one) fails deep in the reading: say so in words. */
async function* guard<T>(it: AsyncIterable<T>, display: string): AsyncGenerator<T> {
  try {
    yield* it;
  } catch (e) {
    throw unreadable(e, display);
  }
}

function unreadable(e: unknown, display: string): unknown {
  if (e instanceof UsageError || !(e instanceof Error)) return e;
  return notAWorkbook(display, e.message);
}

/**
 * The sheet to read: --sheet; else the `prefer`red sheet, else the sheet named after --obj, else the first tab Excel
 * shows (the order of xl/workbook.xml, which is not always the order of the sheets' parts in the file; hidden tabs
 * are not shown, though --sheet can name one).
 */
function pickSheet(book: Book, o: XlsxOptions): string {
  const names = book.sheets.map((s) => s.name);
  if (o.sheet !== undefined) {
    if (names.includes(o.sheet)) return o.sheet;
    throw new UsageError(`${o.display} has no sheet named "${o.sheet}"`, `its sheets: ${names.map((n) => `"${n}"`).join(', ')}; pick one with --sheet <name>`);
  }
  for (const n of [o.prefer, o.obj]) if (n !== undefined && names.includes(n)) return n;
  if (names.length === 0) throw new UsageError(`${o.display} has no sheets`);
  return (book.sheets.find((s) => !s.hidden) ?? book.sheets[0]!).name;
}

/** The sheet's first rows (as many as the layouts need to be told apart); the read stops there. */
async function headRows(rows: AsyncGenerator<SheetRow[]>): Promise<SheetRow[]> {
  const head: SheetRow[] = [];
  try {
    for await (const batch of rows) {
      for (const r of batch) {
        head.push(r);
        if (head.length >= HEAD_ROWS) return head;
      }
    }
  } finally {
    await rows.return(undefined);
  }
  return head;
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
async function* records(rows: AsyncIterable<SheetRow[]>, shape: SheetShape, display: string): AsyncGenerator<InputRecord[]> {
  let out: InputRecord[] = [];
  let next = shape.firstRow; // the sheet row the next record should have
  try {
    for await (const batch of rows) {
      for (const r of batch) {
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
  const o = v as { error?: string; formula?: string; result?: unknown };
  if (o.error !== undefined) return o.error;
  if (o.formula !== undefined) return o.formula !== '' ? `=${o.formula}` : shownText(o.result ?? ''); // a shared formula has no text of its own
  return '';
}

/** 1 → A, 27 → AA. */
export function columnLetter(n: number): string {
  let s = '';
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) s = String.fromCharCode(65 + ((k - 1) % 26)) + s;
  return s;
}
