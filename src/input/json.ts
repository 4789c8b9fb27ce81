/**
 * JSON array reader. A small scanner cuts the top-level array into its elements (tracking nesting and
 * strings) and JSON.parses each one, so a 1 GB array streams with only one element in memory. The usual element, a
 * flat object on one line, is cut by one regular-expression search (FLAT_OBJECT) instead of a step per string.
 */
import { UsageError } from '../core/errors.js';
import type { InputRecord } from '../core/types.js';
import { chunkToString, countNewlines, type TextChunk } from './decode.js';
import { ENVELOPE_LIMIT, envelopeProblem, type JsonExport } from './json-export.js';

export const NOT_ARRAY = 'expected a JSON array of objects; for one object per line use .ndjson (or --format ndjson)';

/**
 * A freshly parsed object as record values: the same object, its prototype set to null (JSON.parse already made
 * `__proto__` and friends own data properties). No copy: a million rows read twice made two million of them.
 */
export function toRecordValues(obj: object): Record<string, unknown> {
  return Object.setPrototypeOf(obj, null) as Record<string, unknown>;
}

/**
 * A parsed object's own text, for the report (InputRecord.valuesJson): without the whitespace around it, and only
 * when it is one line (a line break inside would break a line of an NDJSON report).
 */
export function recordText(text: string): string | undefined {
  const t = text.charCodeAt(0) === 0x7b && text.charCodeAt(text.length - 1) === 0x7d ? text : text.trim();
  return t.indexOf('\n') === -1 && t.indexOf('\r') === -1 ? t : undefined;
}

/** "a number", "an array", "null"... for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : t === 'string' ? 'a string' : t === 'number' ? 'a number' : t === 'boolean' ? 'a boolean' : t;
}

/** Line (1-based) of `pos` in `text`, counting from `startLine`. */
function lineAt(text: string, pos: number, startLine: number): number {
  let line = startLine;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

// Inside an element only a few characters matter; the scanner jumps to the next one (a regex search runs in
// native code, ~5x faster than looking at every character in JavaScript). Sticky by lastIndex (the g flag).
const IN_ELEMENT = /["{}[\]\n]/g; // outside strings
const IN_STRING = /["\\\n]/g; // inside strings
/**
 * A whole element in one native search, for the usual data row: an object on one line with no object inside it
 * (arrays of scalars are fine). It ends at the first `}` outside strings, which then closes the element. Anything
 * else (nested objects, an element over several lines or cut by the chunk's end) is cut character by character.
 * Sticky (y): it matches at lastIndex or not at all; its alternatives never overlap, so a miss costs one scan.
 */
const FLAT_OBJECT = /\{(?:[^{}"\n]|"(?:[^"\\\n]|\\.)*")*\}/y;

const enum S {
  Start, // before '['
  BeforeElem, // after '[' or ','
  InElem,
  AfterElem, // expect ',' or ']'
  End, // after the closing ']'
}

/**
 * The records, a chunk's worth at a time (one await per chunk, not per row). `exp`: the file is an API export
 * (json-export.ts): its prefix is skipped, and the rest of the object after the array is checked at the end.
 */
export async function* jsonBatches(chunks: AsyncIterable<TextChunk>, display: string, exp?: JsonExport): AsyncGenerator<InputRecord[]> {
  let state: S = S.Start as S;
  let skip = exp?.prefix.length ?? 0; // characters of the export's prefix still to skip
  let tail = ''; // the export's text after the array
  let line = 1;
  let row = 0;
  let afterOpen = true; // BeforeElem right after '[' (where ']' is allowed)
  // The element being cut: its pieces, start line, and scanner state.
  let parts: string[] = [];
  let elemLine = 0;
  let depth = 0; // nesting inside the element; 0 for a scalar
  let inString = false;
  let escaped = false;
  let scalar = false;

  const syntax = (what: string, at: number) =>
    new UsageError(`${display} line ${at}: invalid JSON: ${what}`, 'fix the file (a JSON validator or `jq . file` shows the spot)');

  const finish = (text: string): InputRecord => {
    row++;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const m = /at position (\d+)/.exec(msg);
      const at = m ? lineAt(text, Number(m[1]), elemLine) : elemLine;
      throw syntax(`${msg.replace(/ in JSON at position \d+.*$/, '')} (in element ${row})`, at);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      return { row, line: elemLine, values: Object.create(null), error: `row ${row}: expected an object, got ${describe(v)}` };
    }
    return { row, line: elemLine, values: toRecordValues(v), valuesJson: recordText(text) };
  };

  let out: InputRecord[] = [];
  // Elements are collected per chunk; on a syntax error, the elements before it are handed on first.
  const flush = function* () {
    if (out.length > 0) yield out;
    out = [];
  };
  for await (const chunk of chunks) {
    const s = chunkToString(chunk);
    const n = s.length;
    let start = 0; // start of the current element within s
    let first = 0; // where scanning starts within s (after the export's prefix)
    if (skip > 0) {
      first = Math.min(skip, n);
      skip -= first;
      line += countNewlines(first === n ? s : s.slice(0, first));
    }
    if (state === S.End && exp) {
      tail += s; // the rest of the export's object, after the rows array
      first = n;
    }
    let error: unknown;
    try {
      for (let i = first; i < n; i++) {
        let c = s.charCodeAt(i);
        if (state === S.InElem) {
          if (inString) {
            if (!escaped && c !== 0x5c && c !== 0x22 && c !== 0x0a) {
              IN_STRING.lastIndex = i;
              if (!IN_STRING.test(s)) {
                i = n; // the string goes on in the next chunk
                continue;
              }
              i = IN_STRING.lastIndex - 1;
              c = s.charCodeAt(i);
            }
            if (escaped) escaped = false;
            else if (c === 0x5c) escaped = true;
            else if (c === 0x22) {
              inString = false;
              if (depth === 0) {
                // a top-level string element ends here
                parts.push(s.slice(start, i + 1));
                out.push(finish(parts.join('')));
                parts = [];
                state = S.AfterElem;
              }
            } else if (c === 0x0a) line++;
            continue;
          }
          if (scalar) {
            if (c === 0x2c || c === 0x5d || isSpace(c)) {
              parts.push(s.slice(start, i));
              out.push(finish(parts.join('')));
              parts = [];
              state = S.AfterElem;
              i--; // let AfterElem look at this character
            }
            continue;
          }
          if (c !== 0x22 && c !== 0x7b && c !== 0x5b && c !== 0x7d && c !== 0x5d && c !== 0x0a) {
            IN_ELEMENT.lastIndex = i;
            if (!IN_ELEMENT.test(s)) {
              i = n; // the element goes on in the next chunk
              continue;
            }
            i = IN_ELEMENT.lastIndex - 1;
            c = s.charCodeAt(i);
          }
          if (c === 0x22) inString = true;
          else if (c === 0x7b || c === 0x5b) depth++;
          else if (c === 0x7d || c === 0x5d) {
            if (--depth === 0) {
              parts.push(s.slice(start, i + 1));
              out.push(finish(parts.join('')));
              parts = [];
              state = S.AfterElem;
            }
          } else if (c === 0x0a) line++;
          continue;
        }
        if (c === 0x0a) {
          line++;
          continue;
        }
        if (isSpace(c)) continue;
        switch (state) {
          case S.Start:
            if (c !== 0x5b) throw new UsageError(`${display} line ${line}: ${NOT_ARRAY}`);
            state = S.BeforeElem;
            afterOpen = true;
            break;
          case S.BeforeElem:
            if (c === 0x5d && afterOpen) {
              state = S.End;
              break;
            }
            if (c === 0x5d || c === 0x2c) throw syntax(`unexpected "${s[i]}" where an array element should be`, line);
            elemLine = line;
            if (c === 0x7b) {
              FLAT_OBJECT.lastIndex = i;
              if (FLAT_OBJECT.test(s)) {
                out.push(finish(s.slice(i, FLAT_OBJECT.lastIndex)));
                state = S.AfterElem;
                i = FLAT_OBJECT.lastIndex - 1;
                break;
              }
            }
            state = S.InElem;
            start = i;
            depth = 0;
            inString = false;
            escaped = false;
            scalar = false;
            if (c === 0x7b || c === 0x5b) depth = 1;
            else if (c === 0x22) inString = true;
            else scalar = true;
            break;
          case S.AfterElem:
            if (c === 0x2c) {
              state = S.BeforeElem;
              afterOpen = false;
            } else if (c === 0x5d) state = S.End;
            else throw syntax(`expected "," or "]" after element ${row}, found "${s[i]}"`, line);
            break;
          case S.End:
            if (!exp) throw syntax(`unexpected "${s[i]}" after the end of the array`, line);
            tail += s.slice(i); // the rest of the export's object, after the rows array
            i = n;
            break;
        }
      }
      if (state === S.InElem) {
        parts.push(s.slice(start));
      }
      if (tail.length > ENVELOPE_LIMIT) throw syntax(`the object goes on for more than 1 MB after the rows array at ${exp!.path}`, line);
    } catch (e) {
      error = e;
    }
    yield* flush();
    if (error !== undefined) throw error;
  }
  if (state === S.InElem && scalar) {
    yield [finish(parts.join(''))];
    state = S.AfterElem;
  }
  if (state === S.Start) throw new UsageError(`${display} is empty: ${NOT_ARRAY}`);
  if (state !== S.End) throw syntax('the file ends before the array is closed with "]"', line);
  const problem = exp && envelopeProblem(exp, tail);
  if (problem) throw syntax(`${problem} (in the object around the rows array at ${exp!.path})`, line);
}
