/**
 * One row of a finished run's report, as revert reads it: its status, what the run did (`action`), the instance
 * (`id`), the values the run replaced (`before`, JSON) and the values it wrote (the input's own columns). CSV reports
 * hold text (before as JSON text, input columns after the report's own, `input.`-prefixed on a clash); JSON and
 * NDJSON reports hold values, the input under `input` (src/report/writer.ts).
 */
import { REPORT_COLUMNS } from '../report/writer.js';

export interface ReportRow {
  status: string;
  action: string;
  /** The model the run wrote to (the report's `target` column; empty in reports written before it existed). */
  target: string;
  id?: number;
  before?: Record<string, unknown>;
  written: Record<string, unknown>;
  /** What is wrong with the row for revert (a row revert cannot read). */
  problem?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readReportRow(v: Record<string, unknown>): ReportRow {
  const text = (x: unknown) => (x === undefined || x === null ? '' : String(x).trim());
  const out: ReportRow = { status: text(v.status), action: text(v.action), target: text(v.target), written: inputOf(v) };
  if (!out.status) out.problem = 'no status column: this is not a cmdb-bulk report';
  const id = Number(text(v.id));
  if (text(v.id) !== '' && Number.isInteger(id) && id > 0) out.id = id;
  if (isObject(v.before)) out.before = v.before;
  else if (text(v.before) !== '') {
    try {
      const b: unknown = JSON.parse(text(v.before));
      if (isObject(b)) out.before = b;
      else out.problem = 'the before column is not a JSON object';
    } catch {
      out.problem = 'the before column is not valid JSON';
    }
  }
  return out;
}

/** The input's own values of a report row. */
function inputOf(v: Record<string, unknown>): Record<string, unknown> {
  if (isObject(v.input)) return v.input;
  const own = new Set(REPORT_COLUMNS);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('input.')) out[k.slice(6)] = x;
    else if (!own.has(k) && !(k in out)) out[k] = x;
  }
  return out;
}

/** Whether a server value is what a report cell says (a CSV cell is text: 24 and "24" are the same). */
export function sameValue(server: unknown, cell: unknown): boolean {
  const blank = (x: unknown) => x === undefined || x === null || x === '';
  if (blank(server) || blank(cell)) return blank(server) && blank(cell);
  if (JSON.stringify(server) === JSON.stringify(cell)) return true;
  const asText = (x: unknown) => (typeof x === 'object' ? JSON.stringify(x) : String(x));
  return asText(server) === asText(cell);
}
