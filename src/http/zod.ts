/**
 * The schema library, as one module for the tool: zod's version-3 API (`zod/v3`, shipped in the zod 4 package and
 * kept there for good). It loads in ~30 ms where zod 4's loads in ~105 ms on this machine, and every run that talks
 * to a server reads its answers with it (docs/decisions.md, "zod's v3 API"). Nothing here needs zod 4's features.
 */
import { z } from 'zod/v3';

export { z };

/** An object schema that keeps keys it does not name (an answer's other fields pass through). */
export function looseObject<T extends z.ZodRawShape>(shape: T) {
  return z.object(shape).passthrough();
}
