/**
 * Fast start (issue 16 §3): what `cmdb-bulk` prints with no arguments, with --version and with `[command] --help`,
 * recorded from the program itself when it is built (`npm run build` runs this file and writes
 * dist/cli/fast-start.json), so that bin/cmdb-bulk.js can print it without loading commander and the manifests.
 * commander wraps help to the terminal's width, or to 80 columns when the output is not a terminal; the record is
 * made at 80, and the bin uses it only when commander would use 80 too. test/e2e/fast-start.test.ts proves that
 * every recorded answer is what the program prints.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram, commanderExitCode } from './main.js';

/** The width of the recorded help: commander's when the output is not a terminal. */
export const RECORDED_WIDTH = 80;

export interface Answer {
  stream: 'stdout' | 'stderr';
  text: string;
  code: number;
}

export interface FastStartRecord {
  width: number;
  /** Each text once (`create-inst --help` and `create-inst -h` print the same). */
  texts: string[];
  /** Keyed by the arguments as JSON ('[]', '["--version"]', '["create-inst","--help"]'); `text` indexes `texts`. */
  answers: { [args: string]: Omit<Answer, 'text'> & { text: number } };
}

/** The argument lists recorded: none, --version and -V, and --help and -h after every command (and none). */
export function recordedArgs(program: Command): string[][] {
  const paths: string[][] = [];
  const walk = (c: Command, path: string[]) => {
    paths.push(path);
    for (const sub of c.commands) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return [[], ['--version'], ['-V'], ...paths.flatMap((p) => [[...p, '--help'], [...p, '-h']])];
}

class Exited extends Error {
  constructor(readonly code: number) {
    super('exited');
  }
}

/** What the program writes for `args` with help RECORDED_WIDTH wide, and its exit code. It must end by itself. */
export function answerFor(args: string[]): Answer {
  const written = { stdout: '', stderr: '' };
  const program = buildProgram(
    (err) => {
      throw new Exited(commanderExitCode(err));
    },
    {
      writeOut: (s) => (written.stdout += s),
      writeErr: (s) => (written.stderr += s),
      getOutHelpWidth: () => RECORDED_WIDTH,
      getErrHelpWidth: () => RECORDED_WIDTH,
    },
  );
  let code: number;
  try {
    program.parse(args, { from: 'user' });
    throw new Error(`cmdb-bulk ${args.join(' ')} did not end with help, version or usage`);
  } catch (e) {
    if (!(e instanceof Exited)) throw e;
    code = e.code;
  }
  if (written.stdout && written.stderr) throw new Error(`cmdb-bulk ${args.join(' ')} writes to both stdout and stderr`);
  const stream = written.stderr ? 'stderr' : 'stdout';
  const text = written[stream];
  // Plain text is the same whether or not the output has colours (commander strips them where it has none).
  if (text.includes('\x1b')) throw new Error(`cmdb-bulk ${args.join(' ')}: fast start records plain text only`);
  return { stream, text, code };
}

export function record(): FastStartRecord {
  const texts: string[] = [];
  const answers: FastStartRecord['answers'] = {};
  for (const args of recordedArgs(buildProgram())) {
    const { stream, text, code } = answerFor(args);
    if (!texts.includes(text)) texts.push(text);
    answers[JSON.stringify(args)] = { stream, code, text: texts.indexOf(text) };
  }
  return { width: RECORDED_WIDTH, texts, answers };
}

export const RECORD_FILE = fileURLToPath(new URL('fast-start.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeFileSync(RECORD_FILE, JSON.stringify(record()));
