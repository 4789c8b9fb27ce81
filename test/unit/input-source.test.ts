import { execFile } from 'node:child_process';
import { access, readdir, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, openInput } from '../../src/input/index.js';
import { collect, readAll, tempDir, usageError } from './input-helpers.js';

let t: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

const stdinOf = (...chunks: string[]) => Readable.from(chunks.map((c) => Buffer.from(c)));
const exists = (p: string) => access(p).then(() => true, () => false);

describe('standard input', () => {
  it('spools stdin to a private temp file that records() reads twice and close() removes', async () => {
    const src = await openInput({ file: '-', format: 'csv', stdin: stdinOf('a,b\n1,', '2\n3,4\n'), tmpDir: t.dir });
    expect(src.file).toBe('<stdin>');
    expect(src.path.startsWith(t.dir)).toBe(true);
    expect((await stat(src.path)).mode & 0o777).toBe(0o600);
    const first = await collect(src.records());
    const second = await collect(src.records());
    expect(first.map((r) => ({ ...r.values }))).toEqual([
      { a: '1', b: '2' },
      { a: '3', b: '4' },
    ]);
    expect(second).toEqual(first);
    await src.close();
    expect(await exists(src.path)).toBe(false);
    expect((await readdir(t.dir)).filter((n) => n.startsWith('cmdb-bulk-stdin-'))).toEqual([]);
    await src.close(); // idempotent
  });

  it('removes the spool on process exit when close() was never called', async () => {
    const module = fileURLToPath(new URL('../../src/input/index.ts', import.meta.url));
    const script = await t.write(
      'no-close.mts',
      `import { Readable } from 'node:stream';
const { openInput } = await import(${JSON.stringify(module)});
const src = await openInput({ file: '-', format: 'csv', stdin: Readable.from([Buffer.from('a\\n1\\n')]), tmpDir: process.argv[2] });
console.log(src.path);`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, t.dir]);
    const spooled = stdout.trim();
    expect(spooled.startsWith(t.dir)).toBe(true);
    expect(await exists(spooled)).toBe(false);
    expect((await readdir(t.dir)).filter((n) => n.startsWith('cmdb-bulk-stdin-'))).toEqual([]);
  });

  it('sniffs the format of stdin: [ json, { ndjson, a delimited line csv', async () => {
    const json = await openInput({ file: '-', stdin: stdinOf('\n  [{"a":1}]'), tmpDir: t.dir });
    expect(json.format).toBe('json');
    expect((await collect(json.records()))[0]!.values.a).toBe(1);
    await json.close();
    const nd = await openInput({ file: '-', stdin: stdinOf('{"a":1}\n{"a":2}\n'), tmpDir: t.dir });
    expect(nd.format).toBe('ndjson');
    await nd.close();
    const csv = await openInput({ file: '-', stdin: stdinOf('a;b\n1;2\n'), delimiter: ';', tmpDir: t.dir });
    expect(csv.format).toBe('csv');
    expect(csv.columns).toEqual(['a', 'b']);
    await csv.close();
  });

  it('asks for --format when stdin content is not obvious, and leaves no spool behind', async () => {
    const err = await usageError(openInput({ file: '-', stdin: stdinOf('just some words\n'), tmpDir: t.dir }));
    expect(err.message).toContain('standard input');
    expect(err.hint).toContain('--format');
    expect((await readdir(t.dir)).filter((n) => n.startsWith('cmdb-bulk-stdin-'))).toEqual([]);
  });

  it('refuses to wait on a terminal', async () => {
    const tty = Object.assign(stdinOf('a,b\n'), { isTTY: true });
    const err = await usageError(openInput({ file: '-', format: 'csv', stdin: tty, tmpDir: t.dir }));
    expect(err.message).toContain('terminal');
  });

  it('--format overrides the sniffing', async () => {
    const recs = await readAll({ file: '-', format: 'ndjson', stdin: stdinOf('[1]\n'), tmpDir: t.dir });
    expect(recs[0]!.error).toBe('line 1: expected an object, got an array');
  });
});

describe('files and formats', () => {
  it('takes the format from the extension (case-insensitive), or from --format', async () => {
    expect(detectFormat('a.CSV')).toBe('csv');
    expect(detectFormat('dir.x/a.json')).toBe('json');
    expect(detectFormat('a.ndjson')).toBe('ndjson');
    expect(detectFormat('a.JSONL')).toBe('ndjson');
    expect(detectFormat('a.tsv')).toBe('csv');
    expect(detectFormat('a.txt')).toBe('csv'); // Excel's "Unicode Text": delimited text, delimiter found in the header
    expect(detectFormat('a.dat')).toBe(null);
    expect(detectFormat('-', Buffer.from(' [1]'))).toBe('json');
    expect(detectFormat('-', Buffer.from('\uFEFF{"a":1}'))).toBe('ndjson');
    expect(detectFormat('-', Buffer.from('a,b\n1,2'))).toBe('csv');
    expect(detectFormat('-', Buffer.from('a;b\n1;2'))).toBe('csv');
    expect(detectFormat('-', Buffer.from('a\tb\n1\t2'))).toBe('csv');
    expect(detectFormat('-', Buffer.from('a;b\n1;2'), ',')).toBe(null);
    expect(detectFormat('-', Buffer.from('a b c'))).toBe(null);
    // A zip (an .xlsx) and an OLE document (a password-protected workbook or an .xls: the xlsx reader says which).
    expect(detectFormat('-', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00]))).toBe('xlsx');
    expect(detectFormat('-', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0x00]))).toBe('xlsx');
    const dat = await t.write('data.dat', 'a,b\n1,2\n');
    const err = await usageError(openInput({ file: dat }));
    expect(err.hint).toContain('.csv, .tsv, .txt, .json, .ndjson, .jsonl, .xlsx or .xlsm');
    expect((await readAll({ file: dat, format: 'csv' }))[0]!.values.b).toBe('2');
  });

  it('says plainly when a file cannot be read', async () => {
    const err = await usageError(openInput({ file: 'no-such-dir/switches.csv' }));
    expect(err.message).toBe('cannot read no-such-dir/switches.csv: no such file');
    const dir = await usageError(openInput({ file: t.dir, format: 'csv' }));
    expect(dir.message).toContain('is a directory');
  });
});
