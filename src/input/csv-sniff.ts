/**
 * Which delimiter a CSV file uses, read from its header when --delimiter was not given. Excel saves "CSV" with
 * semicolons where the decimal mark is a comma (most of Europe), and tab-separated text as "Unicode Text" or
 * .tsv; a user should not have to know. A header that could be split two ways is refused with the delimiter it
 * most looks like, never guessed: a wrong guess would show up as unknown fields named "a;b;c".
 */
import { UsageError } from '../core/errors.js';

const CANDIDATES = [',', ';', '\t', '|'];
/** Data lines compared with the header when it holds more than one candidate. */
const SAMPLE_LINES = 20;

/** How a delimiter is named in messages and typed on the command line. */
export function delimiterName(d: string): string {
  return d === '\t' ? 'tab' : `'${d}'`;
}

/** "looks like ';' — use --delimiter ';'" */
function looksLike(d: string): string {
  return `looks like ${delimiterName(d)} — use --delimiter ${delimiterName(d)}`;
}

/** How often `d` occurs in `line` outside double-quoted cells. */
function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') quoted = !quoted;
    else if (c === d && !quoted) n++;
  }
  return n;
}

const isBlank = (line: string) => line.trim() === '';

/**
 * The delimiter of a file that starts with `text` (its first chunk, BOM removed): the one candidate the header
 * holds; when it holds several, the one whose count is the same on every sampled data line; ',' for a header of
 * one column. Throws when the header could be split two ways.
 */
export function sniffDelimiter(text: string, display: string): string {
  const lines = text.split(/\r\n|\n|\r/);
  const at = lines.findIndex((l) => !isBlank(l));
  if (at === -1) return ',';
  const header = lines[at]!;
  const counts = new Map(CANDIDATES.map((d) => [d, countOutsideQuotes(header, d)] as const).filter(([, n]) => n > 0));
  if (counts.size === 0) return ',';
  if (counts.size === 1) return [...counts.keys()][0]!;
  // The chunk may end inside a line: the last line counts only when it is the only data line there is.
  let data = lines.slice(at + 1, at + 2 + SAMPLE_LINES).filter((l) => !isBlank(l));
  if (data.length > 1) data = data.slice(0, Math.min(data.length - 1, SAMPLE_LINES));
  const steady = [...counts].filter(([d, n]) => data.length > 0 && data.every((l) => countOutsideQuotes(l, d) === n));
  if (steady.length === 1) return steady[0]![0];
  const [likely] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
  throw new UsageError(
    `${display} line ${at + 1}: cannot tell the delimiter: the header has ${[...counts].map(([d, n]) => `${delimiterName(d)} ×${n}`).join(' and ')}`,
    looksLike(likely),
  );
}

/**
 * A header read as one column although it holds another candidate delimiter (`--delimiter ,` given for a
 * semicolon file): the error to give instead of "unknown field a;b;c", or undefined.
 */
export function oneColumnHeader(cells: string[], delimiter: string, display: string, line: number): UsageError | undefined {
  if (cells.length !== 1) return undefined;
  const other = CANDIDATES.find((d) => d !== delimiter && countOutsideQuotes(cells[0]!, d) > 0);
  if (!other) return undefined;
  return new UsageError(`${display} line ${line}: the header is one column "${cells[0]!.trim()}" when split by ${delimiterName(delimiter)}`, looksLike(other));
}
