/**
 * Colour on or off, decided once per run, and the five styles the tool uses, as SGR escape codes. The codes are
 * written here rather than by chalk: loading chalk was a noticeable part of a small run's start-up, and the basic
 * colours need no detection of the terminal's depth. The output is byte for byte chalk's (test/unit/ui-color.test.ts).
 */

/**
 * NO_COLOR (non-empty) → off; --no-color → off; FORCE_COLOR non-empty → on, unless it is '0' or 'false'
 * (the supports-color convention for "force off"); TERM=dumb → off; else on when the stream is a TTY.
 */
export function colorEnabled(opts: { flag?: boolean; stream: { isTTY?: boolean }; env: NodeJS.ProcessEnv }): boolean {
  const { env } = opts;
  if (env.NO_COLOR) return false;
  if (opts.flag === false) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  if (env.TERM === 'dumb') return false;
  return opts.stream.isTTY === true;
}

export interface Painter {
  ok(s: string): string;
  fail(s: string): string;
  warn(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/**
 * Wraps text in a style's codes. A close code inside (an inner style ending) re-opens this style after it, and
 * each line is closed and re-opened, so a style never bleeds into the next line or stops early.
 */
function style(open: number, close: number): (s: string) => string {
  const on = `\x1b[${open}m`;
  const off = `\x1b[${close}m`;
  return (s) => (s ? on + s.split(off).join(off + on).replace(/\r?\n/g, (eol) => off + eol + on) + off : s);
}

const STYLES: Painter = { ok: style(32, 39), fail: style(31, 39), warn: style(33, 39), dim: style(2, 22), bold: style(1, 22) };
const PLAIN: Painter = { ok: String, fail: String, warn: String, dim: String, bold: String };

export function painter(enabled: boolean): Painter {
  return enabled ? STYLES : PLAIN;
}
