/**
 * The two workbook formats of export, on the streaming writer of src/report/xlsx-writer.ts (each row goes to the
 * file when added, so a page's rows leave memory with the page). sink.ts imports this module only when one of
 * these formats is chosen, so CSV exports and --help never load the workbook library.
 *
 * - `xlsx`: a plain sheet, the file's columns as the header row, cells as the CSV export writes them (cellValue),
 *   numbers and booleans as Excel numbers and booleans;
 * - `cmdb-xlsx`: CMDB's own layout (openCmdbSheet: six header rows, bk_inst_id in column B, enums by display name),
 *   the file CMDB's web UI exports, which update-inst reads back; for associations (`book`), CMDB's association sheet
 *   beside the model's empty sheet (cmdb-assoc-sheet.ts), which CMDB's UI imports and associate reads back.
 */
import type { FieldSpec } from '../schema/fields.js';
import { openCmdbSheet, openPlainSheet, type CmdbColumn } from '../report/xlsx-writer.js';
import { openAssociationBook, type AssociationCells } from './cmdb-assoc-sheet.js';
import { cellValue, type AssociationBook, type PageWriter, type Row } from './sink.js';

/** The rows added so far are in the file; the caller removes the partial file after abort(). */
function writer(add: (r: Row) => void, finish: () => Promise<void>): PageWriter {
  return {
    async page(rows) {
      for (const r of rows) add(r);
    },
    end: finish,
    abort: () => finish().catch(() => undefined),
  };
}

export async function openPlainXlsx(path: string, columns: string[], specs: Map<string, FieldSpec>, name: string): Promise<PageWriter> {
  const sheet = await openPlainSheet(path, name, columns);
  const fields = columns.map((c) => specs.get(c));
  return writer((r) => sheet.addRow(columns.map((c, i) => cellValue(fields[i], r[c]))), () => sheet.finish());
}

/** A column of CMDB's layout from the field's spec; a column without one (an id) is a number. */
function cmdbColumn(id: string, spec: FieldSpec | undefined): CmdbColumn {
  if (!spec) return { id, name: id, type: 'int' };
  return { id, name: spec.label ?? id, type: spec.type, required: spec.required, options: spec.options };
}

export async function openCmdbXlsx(path: string, columns: string[], specs: Map<string, FieldSpec>, name: string, book?: AssociationBook): Promise<PageWriter> {
  if (book) {
    const w = await openAssociationBook(path, book.model, book.columns.map((c) => cmdbColumn(c, book.specs.get(c))));
    return writer((r) => w.add(r as unknown as AssociationCells), () => w.finish());
  }
  const withIds = columns[0] === 'bk_inst_id';
  const fields = (withIds ? columns.slice(1) : columns).map((c) => cmdbColumn(c, specs.get(c)));
  const sheet = await openCmdbSheet(path, name, fields, withIds);
  return writer((r) => sheet.addInstance(r), () => sheet.finish());
}
