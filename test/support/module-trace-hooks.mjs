// Module hooks for module-trace.mjs (they run on the loader thread, which sees the same environment).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.MODULE_TRACE) appendFileSync(process.env.MODULE_TRACE, `${r.url}\n`);
  return r;
}
