/**
 * Flat memory for long runs, in the same process. The live heap of a run is small and flat (~15-20 MB while a
 * million rows stream through), but V8 lets the old generation grow to up to 4 × what survived the last full
 * collection before it collects again when the heap limit is large (≥ 2 GB: the default on most machines), so
 * peak RSS followed the allocation rate, not what is live: 150-220 MB for NDJSON, JSON, a send at --concurrency 16
 * or a million-row export. V8's `--heap-growing-percent` replaces that factor, and V8 reads it each time it sets
 * the next limit (v8/v8 src/heap/heap-controller.cc, MemoryController::GrowingFactor), so setting it when a data
 * command starts works — unlike --max-old-space-size, which V8 reads only at start-up and which would need a
 * second process (and with it Ctrl-C, exit codes and stdin passed through). Costs nothing at start-up (one call).
 * docs/decisions.md, "Flat memory without a second process"; figures in docs/performance.md.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow by this share of what is live before a full collection (V8's default: up to 300 %). */
export const HEAP_GROWING_PERCENT = 25;

let bounded = false;

/** Bounds the heap's growth for the rest of the process (idempotent). */
export function boundHeapGrowth(): void {
  if (bounded) return;
  bounded = true;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
