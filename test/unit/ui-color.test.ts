import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { colorEnabled, painter } from '../../src/ui/color.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('colorEnabled', () => {
  const cases: [string, Parameters<typeof colorEnabled>[0], boolean][] = [
    ['TTY, nothing set', { stream: tty, env: {} }, true],
    ['pipe, nothing set', { stream: pipe, env: {} }, false],
    ['stream without isTTY', { stream: {}, env: {} }, false],
    ['NO_COLOR on a TTY', { stream: tty, env: { NO_COLOR: '1' } }, false],
    ['empty NO_COLOR is ignored', { stream: tty, env: { NO_COLOR: '' } }, true],
    ['NO_COLOR beats FORCE_COLOR', { stream: tty, env: { NO_COLOR: '1', FORCE_COLOR: '1' } }, false],
    ['--no-color on a TTY', { flag: false, stream: tty, env: {} }, false],
    ['--no-color beats FORCE_COLOR', { flag: false, stream: tty, env: { FORCE_COLOR: '1' } }, false],
    ['--color (flag true) on a pipe follows the stream', { flag: true, stream: pipe, env: {} }, false],
    ['FORCE_COLOR on a pipe', { stream: pipe, env: { FORCE_COLOR: '1' } }, true],
    ['FORCE_COLOR=3 on a pipe', { stream: pipe, env: { FORCE_COLOR: '3' } }, true],
    ['FORCE_COLOR=0 on a TTY', { stream: tty, env: { FORCE_COLOR: '0' } }, false],
    ['FORCE_COLOR=false on a TTY', { stream: tty, env: { FORCE_COLOR: 'false' } }, false],
    ['empty FORCE_COLOR follows the stream', { stream: pipe, env: { FORCE_COLOR: '' } }, false],
    ['TERM=dumb on a TTY', { stream: tty, env: { TERM: 'dumb' } }, false],
    ['TERM=dumb with FORCE_COLOR', { stream: tty, env: { TERM: 'dumb', FORCE_COLOR: '1' } }, true],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => expect(colorEnabled(input)).toBe(want));
  }
});

describe('painter', () => {
  const fns = ['ok', 'fail', 'warn', 'dim', 'bold'] as const;
  it('emits no escape codes when disabled', () => {
    const p = painter(false);
    for (const f of fns) expect(p[f]('text')).toBe('text');
  });
  it('writes what chalk wrote for the same styles, byte for byte (nested styles, line breaks, empty text)', () => {
    const c = new Chalk({ level: 1 });
    const p = painter(true);
    const chalkOf = { ok: c.green, fail: c.red, warn: c.yellow, dim: c.dim, bold: c.bold };
    const texts = ['text', '', 'two\nlines\n', 'crlf\r\nline', `in ${c.red('red')} and ${c.dim('dim')} and ${c.bold(c.green('both'))}`, '\n', `${c.yellow('a\nb')}\nc`];
    for (const f of fns) for (const t of texts) expect(JSON.stringify(p[f](t)), `${f}(${JSON.stringify(t)})`).toBe(JSON.stringify(chalkOf[f](t)));
  });
  it('emits escape codes when enabled, whatever the environment says', () => {
    const p = painter(true);
    for (const f of fns) {
      const out = p[f]('text');
      expect(out).toContain('\x1b[');
      expect(out.replace(/\x1b\[[0-9;]*m/g, '')).toBe('text');
    }
  });
});
