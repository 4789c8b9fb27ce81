#!/usr/bin/env node
// Thin shim: the CLI lives in dist/ (built from src/ by `npm run build`).
// Fast start: no arguments, --version and `[command] --help` print what the build recorded from the program
// (dist/cli/fast-start.json, made by src/cli/fast-start.ts) without loading it, when the help is as wide as
// recorded: commander's width is the terminal's, or 80 columns when the output is not a terminal.
import { readFileSync } from 'node:fs';

/** The recorded answer to exactly these arguments, or undefined: then the program runs. */
function recorded(args) {
  if (args.length > 0 && !['--help', '-h', '--version', '-V'].includes(args[args.length - 1])) return undefined;
  let record;
  try {
    record = JSON.parse(readFileSync(new URL('../dist/cli/fast-start.json', import.meta.url), 'utf8'));
  } catch {
    return undefined;
  }
  const answer = record.answers[JSON.stringify(args)];
  if (!answer) return undefined;
  const out = process[answer.stream];
  const width = (out.isTTY ? out.columns : undefined) ?? 80;
  return width === record.width ? { ...answer, text: record.texts[answer.text] } : undefined;
}

const answer = recorded(process.argv.slice(2));
if (answer) {
  // Then exit at once, as the program does after commander's output (a closed pipe is then no error).
  process[answer.stream].write(answer.text);
  process.exit(answer.code);
} else {
  await import('../dist/cli/main.js');
}
