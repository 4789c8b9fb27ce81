/**
 * Standard input is copied to a private temp file first, so that records() can read it twice
 * (the pipeline validates everything before sending anything).
 */
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../core/errors.js';

/** Spool folders not yet removed; cleared on process exit if close() was never called. */
const pending = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const dir of pending) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort: the process is ending
      }
    }
  });
}

export interface Spool {
  path: string;
  /** Removes the spool file and its folder. Idempotent. */
  remove(): Promise<void>;
}

export async function spoolStdin(stdin: NodeJS.ReadableStream, tmpDir = tmpdir()): Promise<Spool> {
  // Reading a terminal would just wait for typing: say what '-' means instead.
  if ((stdin as { isTTY?: boolean }).isTTY) {
    throw new UsageError("'-' reads the input from standard input, but it is a terminal", 'pipe the data in (cat switches.csv | cmdb-bulk ... -) or give a file path');
  }
  let dir: string;
  try {
    // mkdtemp: a unique folder only we can enter (0700); the file in it is 0600.
    dir = await mkdtemp(join(tmpDir, 'cmdb-bulk-stdin-'));
  } catch (e) {
    throw new UsageError(`cannot create a temporary file in ${tmpDir} to hold standard input: ${(e as Error).message}`);
  }
  pending.add(dir);
  installExitHook();
  const path = join(dir, 'input');
  const remove = async () => {
    if (!pending.delete(dir)) return;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await pipeline(stdin, createWriteStream(path, { mode: 0o600, flags: 'wx' }));
  } catch (e) {
    await remove();
    throw new UsageError(`cannot read standard input: ${(e as Error).message}`);
  }
  return { path, remove };
}
