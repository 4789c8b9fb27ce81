// Loaded with `node --import` by tests: every module the process loads is appended to $MODULE_TRACE, one URL a
// line, so a test can check what a command did NOT load (the workbook library for --help and CSV runs). The hooks
// see what is imported; CommonJS that is require()d (cli-progress, through createRequire) they do not see on
// Node 20, so the files in require's cache are added when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

register('./module-trace-hooks.mjs', import.meta.url);

const cache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  if (!process.env.MODULE_TRACE) return;
  const files = Object.keys(cache).filter((f) => f.startsWith('/'));
  if (files.length) appendFileSync(process.env.MODULE_TRACE, files.map((f) => `${pathToFileURL(f).href}\n`).join(''));
});
