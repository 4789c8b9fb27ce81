/**
 * JSON files that are an API's answer saved whole: the rows are an array inside an object. CMDB's search answers
 * `{"result":true,…,"data":{"count":2,"info":[…]}}`, Feishu's list answers `{"code":0,"data":{"items":[…],
 * "has_more":false}}`, other tools `{"items":[…]}` or `{"data":[…]}`. The array is found by walking the keys
 * before it at the start of the file, so that the rows themselves still stream through the array scanner
 * (json.ts), which skips this prefix and checks the object around the array once the file has been read.
 */
import { UsageError } from '../core/errors.js';
import { chunkToString, type TextChunk } from './decode.js';

/** Where the rows may be, in the words the user sees. Only `data` is walked into. */
export const ROW_PATHS = ['data', 'data.info', 'data.items', 'items', 'info'];
const PATHS_TEXT = 'data, data.info, data.items, items or info';
/** How far into the file the rows array must start, and how long the object may go on after it. */
export const ENVELOPE_LIMIT = 1 << 20;

export interface JsonExport {
  /** Where the rows are: 'data.info'. */
  path: string;
  /** The text before the array's '[' (skipped by the scanner, and checked with the rest of the object at the end). */
  prefix: string;
}

type Walk = JsonExport | 'more' | { keys: string[] };

/**
 * Looks for the rows array in `text`, the start of a file that starts with an object: where it starts, 'more'
 * when the text ends before that can be told, or the object's top-level keys when it has no rows array.
 */
export function findRows(text: string): Walk {
  let i = 0;
  const keys: string[] = [];
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  /** Past a string starting at i; false when the text ends inside it. */
  const string = (): boolean => {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === '\\') j++;
      else if (text[j] === '"') {
        i = j + 1;
        return true;
      }
    }
    return false;
  };
  /** Past any value starting at i; false when the text ends inside it. */
  const value = (): boolean => {
    if (text[i] === '"') return string();
    if (text[i] !== '{' && text[i] !== '[') {
      while (i < text.length && !',}] \t\r\n'.includes(text[i]!)) i++;
      return i < text.length;
    }
    let depth = 0;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        if (!string()) return false;
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth === 0) {
        i++;
        return true;
      }
      i++;
    }
    return false;
  };
  /** The members of the object at i (inside `at`, '' for the top level). */
  const object = (at: string): Walk | 'closed' => {
    i++; // '{'
    for (;;) {
      ws();
      if (i >= text.length) return 'more';
      if (text[i] === '}') {
        i++;
        return 'closed';
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      const start = i;
      if (text[i] !== '"') return { keys };
      if (!string()) return 'more';
      const key = keyText(text.slice(start, i));
      if (at === '') keys.push(key);
      ws();
      if (i >= text.length) return 'more';
      if (text[i] !== ':') return { keys };
      i++;
      ws();
      if (i >= text.length) return 'more';
      const path = at === '' ? key : `${at}.${key}`;
      if (text[i] === '[' && ROW_PATHS.includes(path)) return { path, prefix: text.slice(0, i) };
      if (text[i] === '{' && path === 'data') {
        const inner = object(path);
        if (inner !== 'closed') return inner;
        continue;
      }
      if (!value()) return 'more';
    }
  };
  ws();
  const r = object('');
  return r === 'closed' ? { keys } : r;
}

/** A key's text; a bad escape in it is kept as written (the check of the whole object at the end reports it). */
function keyText(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

/** Reads the start of a file that is one JSON object until its rows array is found; throws when it has none. */
export async function findExport(chunks: AsyncIterable<TextChunk>, display: string): Promise<JsonExport> {
  let text = '';
  let walk: Walk = 'more';
  for await (const c of chunks) {
    text += chunkToString(c);
    walk = findRows(text);
    if (walk !== 'more' || text.length > ENVELOPE_LIMIT) break;
  }
  if (walk !== 'more' && 'path' in walk) return walk;
  const keys = walk === 'more' ? '' : ` (keys: ${walk.keys.join(', ')})`;
  throw new UsageError(
    `${display}: a JSON object with no array of rows at ${PATHS_TEXT}${walk === 'more' ? ' in its first 1 MB' : ''}${keys}`,
    'give a JSON array of objects, or an API answer with its rows at one of those places; for one object per line use .ndjson (or --format ndjson)',
  );
}

/**
 * Checks the object around the rows array once the file has been read: `prefix` and `tail` (the text after the
 * array) must be valid JSON with an empty array in its place. Returns the problem, or undefined.
 */
export function envelopeProblem(exp: JsonExport, tail: string): string | undefined {
  try {
    JSON.parse(`${exp.prefix}[]${tail}`);
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
  }
}
