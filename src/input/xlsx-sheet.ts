/**
 * A worksheet's rows from its XML (`<sheetData><row r="7"><c r="B7" t="s" s="3"><v>12</v></c>...`), a piece of the
 * inflated part at a time: each row's `values[c]` is column c's value (1 = A) in the shapes xlsx-cells.ts reads —
 * a string, a number, a boolean, a Date (a number in a date style), `{ error }`, `{ formula, result }`.
 *
 * Cell types (ECMA-376 18.18.11): s shared string (an index into the shared-strings table), str a formula's text
 * result, inlineStr text in `<is>` (plain or rich runs; phonetic runs `<rPh>` are not the text), b boolean, e error,
 * n (or none) number, d an ISO 8601 date. A cell with `<f>` is a formula (a shared one, `<f t="shared" si="0"/>`,
 * has no text of its own): its value is the saved result, none when `<v>` is missing.
 */
import { serialDate } from './xlsx-book.js';
import { type Attributes, type XmlHandler, scanPieces, unescapeExcel } from './xlsx-xml.js';

export interface SheetRow {
  number: number;
  values: unknown[];
}

/** What a cell's value needs besides its own XML. */
export interface CellContext {
  /** Shared string i, or undefined when there is no such entry. */
  sharedString(i: number): string | undefined;
  dateStyles: readonly boolean[];
  date1904: boolean;
}

/** What a cell's start tag says: its reference (B7), its type, its style. */
const CELL_ATTRIBUTES = ['r', 't', 's'] as const;
/** A row's number (missing: the row after the one before). */
const ROW_ATTRIBUTES = ['r'] as const;

const enum Into {
  Nothing,
  Value,
  Formula,
  Text,
}

/** The XML handler that turns a sheet's events into rows; `take()` hands over the rows completed so far. */
export class SheetRows implements XmlHandler {
  wantText = false;
  private done: SheetRow[] = [];
  private row: SheetRow | null = null;
  private lastRow = 0;
  private column = 0;
  // The cell being read.
  private type = 'n';
  private style = 0;
  private value: string | undefined;
  private formula: string | undefined;
  private inline = '';
  private into = Into.Nothing;
  private inInline = false;
  private inPhonetic = false;
  private readonly cellAttrs: Array<string | undefined> = [undefined, undefined, undefined];
  private readonly rowAttrs: Array<string | undefined> = [undefined];

  constructor(private readonly cx: CellContext) {}

  take(): SheetRow[] {
    const rows = this.done;
    this.done = [];
    return rows;
  }

  open(name: string, a: Attributes, selfClosing: boolean): void {
    switch (name) {
      case 'c':
        this.startCell(a); // self-closing: an empty cell, only its column counts
        break;
      case 'v':
        if (!selfClosing) this.collect(Into.Value);
        else this.value = '';
        break;
      case 'f':
        this.formula = '';
        if (!selfClosing) this.collect(Into.Formula);
        break;
      case 'is':
        this.inInline = !selfClosing;
        break;
      case 't':
        if (this.inInline && !this.inPhonetic && !selfClosing) this.collect(Into.Text);
        break;
      case 'rPh':
        this.inPhonetic = !selfClosing;
        break;
      case 'row':
        this.startRow(a);
        if (selfClosing) this.endRow();
        break;
    }
  }

  close(name: string): void {
    switch (name) {
      case 'v':
      case 'f':
      case 't':
        this.wantText = false;
        this.into = Into.Nothing;
        break;
      case 'c':
        this.endCell();
        break;
      case 'is':
        this.inInline = false;
        break;
      case 'rPh':
        this.inPhonetic = false;
        break;
      case 'row':
        this.endRow();
        break;
    }
  }

  text(t: string): void {
    if (this.into === Into.Value) this.value += t;
    else if (this.into === Into.Formula) this.formula += t;
    else if (this.into === Into.Text) this.inline += t;
  }

  private collect(into: Into): void {
    this.into = into;
    this.wantText = true;
    if (into === Into.Value) this.value = '';
  }

  private startRow(a: Attributes): void {
    a.read(ROW_ATTRIBUTES, this.rowAttrs);
    const r = this.rowAttrs[0];
    this.lastRow = r !== undefined ? Number(r) : this.lastRow + 1;
    this.row = { number: this.lastRow, values: [] };
    this.column = 0;
  }

  private endRow(): void {
    if (this.row) this.done.push(this.row);
    this.row = null;
  }

  private startCell(a: Attributes): void {
    const at = this.cellAttrs;
    a.read(CELL_ATTRIBUTES, at);
    const ref = at[0];
    this.column = ref !== undefined ? columnOf(ref) : this.column + 1;
    this.type = at[1] ?? 'n';
    this.style = at[2] !== undefined ? Number(at[2]) : 0;
    this.value = undefined;
    this.formula = undefined;
    this.inline = '';
    this.inInline = false;
    this.inPhonetic = false;
  }

  private endCell(): void {
    const row = this.row;
    if (!row) return; // a cell outside a row: not well-formed, nothing to place it in
    const v = this.cellValue();
    if (this.formula !== undefined) row.values[this.column] = { formula: this.formula, result: v };
    else if (v !== undefined) row.values[this.column] = v;
  }

  private cellValue(): unknown {
    const v = this.value;
    switch (this.type) {
      case 's':
        return v === undefined || v === '' ? undefined : (this.cx.sharedString(Number(v)) ?? '');
      case 'inlineStr':
        return unescapeExcel(this.inline);
      case 'str':
        return v === undefined ? undefined : unescapeExcel(v);
      case 'b':
        return v === undefined || v === '' ? undefined : v === '1' || v === 'true';
      case 'e':
        return v === undefined ? undefined : { error: v };
      case 'd':
        return v === undefined || v === '' ? undefined : isoDate(v);
      default: {
        if (v === undefined || v === '') return undefined;
        const n = Number(v);
        return this.cx.dateStyles[this.style] === true && Number.isFinite(n) ? serialDate(n, this.cx.date1904) : n;
      }
    }
  }
}

/** `B7` → 2, `AA1` → 27 (letters only; `$` of an absolute reference skipped). */
export function columnOf(ref: string): number {
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c >= 65 && c <= 90) n = n * 26 + c - 64;
    else if (c >= 97 && c <= 122) n = n * 26 + c - 96;
    else if (c !== 36) break;
  }
  return n;
}

/** A `t="d"` cell's ISO 8601 text; without a zone it is the time as written (read as UTC, like every date here). */
function isoDate(v: string): Date {
  if (!v.includes('T')) return new Date(`${v}T00:00:00Z`);
  return new Date(/(Z|[+-]\d\d:?\d\d)$/.test(v) ? v : `${v}Z`);
}

/** The rows of a sheet, from its XML in pieces (bytes, decoded here across pieces), as each piece completes them. */
export async function* sheetRows(pieces: AsyncIterable<Buffer>, cx: CellContext): AsyncGenerator<SheetRow[]> {
  const handler = new SheetRows(cx);
  for await (const _ of scanPieces(pieces, handler)) {
    const rows = handler.take();
    if (rows.length > 0) yield rows;
  }
  const rows = handler.take();
  if (rows.length > 0) yield rows;
}
