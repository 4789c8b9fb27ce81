/** NDJSON reader: one JSON object per line; blank lines are skipped and do not count as rows. */
import type { InputRecord } from '../core/types.js';
import { chunkToString, type TextChunk } from './decode.js';
import { describe, recordText, toRecordValues } from './json.js';

function parseLine(text: string, row: number, line: number): InputRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { row, line, values: Object.create(null), error: `line ${line}: invalid JSON: ${jsonProblem((e as Error).message)}` };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return { row, line, values: Object.create(null), error: `line ${line}: expected an object, got ${describe(v)}` };
  }
  return { row, line, values: toRecordValues(v), valuesJson: recordText(text) };
}

/**
 * V8's JSON.parse message, made to point at a column and cut of the copy of the line it sometimes carries:
 * `Unexpected token 'x', "{"a":x}" is not valid JSON` → `Unexpected token 'x'`; `... in JSON at position 6` →
 * `... at column 7`.
 */
function jsonProblem(msg: string): string {
  return msg.replace(/, ".*"(?:\.\.\.)? is not valid JSON$/s, '').replace(/ in JSON at position (\d+).*$/s, (_m, p: string) => ` at column ${Number(p) + 1}`);
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

/** The records, a chunk's worth at a time (one await per chunk, not per row). */
export async function* ndjsonBatches(chunks: AsyncIterable<TextChunk>): AsyncGenerator<InputRecord[]> {
  let carry = '';
  let line = 0;
  let row = 0;
  for await (const chunk of chunks) {
    const s = carry + chunkToString(chunk);
    const out: InputRecord[] = [];
    let from = 0;
    for (let nl = s.indexOf('\n'); nl !== -1; nl = s.indexOf('\n', from)) {
      const text = s.slice(from, nl);
      from = nl + 1;
      line++;
      if (!isBlank(text)) out.push(parseLine(text, ++row, line));
    }
    carry = s.slice(from);
    if (out.length > 0) yield out;
  }
  line++;
  if (!isBlank(carry)) yield [parseLine(carry, ++row, line)];
}
