// Loaded with `node --import` by tests: every module the process loads is appended to $MODULE_TRACE, one URL a
// line, so a test can check what a command did NOT load (the workbook library for --help and CSV runs).
import { register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url);
