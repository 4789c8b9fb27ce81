/**
 * Colour on or off, decided once per run. chalk 5 ignores NO_COLOR and only looks at the process's own
 * streams, so the decision is made here and chalk is only used at a fixed level.
 */
import { Chalk, supportsColorStderr } from 'chalk';

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

export function painter(enabled: boolean): Painter {
  const level = enabled ? Math.max(1, supportsColorStderr ? supportsColorStderr.level : 1) : 0;
  const c = new Chalk({ level: level as 0 | 1 | 2 | 3 });
  return {
    ok: (s) => c.green(s),
    fail: (s) => c.red(s),
    warn: (s) => c.yellow(s),
    dim: (s) => c.dim(s),
    bold: (s) => c.bold(s),
  };
}
