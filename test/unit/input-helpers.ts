import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InputRecord } from '../../src/core/types.js';
import { openInput, type OpenInputOptions } from '../../src/input/index.js';

/** A fresh temp folder per test file; `write` puts a file in it and returns its path. */
export async function tempDir(): Promise<{ dir: string; write(name: string, data: string | Buffer): Promise<string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'cmdb-bulk-input-test-'));
  return {
    dir,
    async write(name, data) {
      const p = join(dir, name);
      await writeFile(p, data);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function collect(it: AsyncIterable<InputRecord>): Promise<InputRecord[]> {
  const out: InputRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

/** Opens, reads all records, closes. */
export async function readAll(opts: OpenInputOptions): Promise<InputRecord[]> {
  const src = await openInput(opts);
  try {
    return await collect(src.records());
  } finally {
    await src.close();
  }
}

/** The UsageError a promise rejects with (fails the test if it resolves or rejects with something else). */
export async function usageError(p: Promise<unknown>): Promise<{ message: string; hint?: string; exitCode: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; hint?: string; exitCode: number };
    if (err.name !== 'UsageError') throw e;
    return err;
  }
  throw new Error('expected a UsageError, but it succeeded');
}
