/**
 * The command manifests and the program built from them: a flag's check, the defaults the parsed options carry,
 * that every declared flag becomes exactly that option, and that each data command's manifest agrees with the
 * operation it loads.
 */
import { CommanderError, type Command } from 'commander';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { int, number, parseValue } from '../../src/cli/flags.js';
import { buildProgram, toOption } from '../../src/cli/main.js';
import { commands } from '../../src/cli/manifests/index.js';
import { flagsOf, type OperationManifest } from '../../src/cli/manifests/manifest.js';
import { operationManifests, type RowsOptions } from '../../src/cli/manifests/operations.js';
import type { OperationOptions } from '../../src/operations/types.js';
import { loadOperation, operationCommands } from '../../src/operations/index.js';

describe('a flag checks its own value', () => {
  const timeout = number('--timeout <seconds>', { help: '', above: 0 });
  const concurrency = int('--concurrency <n>', { help: '', min: 1, max: 64 });
  const batch = int('--batch-size <n>', { help: '', min: 1, max: 200, maxReason: 'the limit of batch_create_inst (200 rows a request)' });
  const check = (f: Parameters<typeof parseValue>[0], raw: string) => {
    try {
      return parseValue(f, raw);
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('numbers: above 0, finite, written as numbers', () => {
    expect(check(timeout, '0.5')).toBe(0.5);
    expect(check(timeout, ' 30 ')).toBe(30);
    expect(check(timeout, '0')).toBe('expected a value greater than 0');
    expect(check(timeout, '-1')).toBe('expected a value greater than 0');
    for (const bad of ['', 'soon', 'Infinity', 'NaN', '1s']) expect(check(timeout, bad), bad).toMatch(/is not a number/);
  });

  it('whole numbers: ranges, and the reason when over a limit', () => {
    expect(check(concurrency, '64')).toBe(64);
    expect(check(concurrency, '65')).toBe('expected a value from 1 to 64');
    expect(check(concurrency, '0')).toBe('expected a value from 1 to 64');
    for (const bad of ['1.5', '1e2', '0x10', 'four']) expect(check(concurrency, bad), bad).toMatch(/is not a whole number/);
    expect(check(batch, '201')).toBe('201 is over the limit of batch_create_inst (200 rows a request)');
    expect(check(batch, '0')).toBe('expected a value from 1 to 200');
  });
});

describe('every declared flag becomes that commander option', () => {
  it('under the key its options object uses, with its conflicts naming flags of the same command', () => {
    for (const m of commands) {
      const flags = flagsOf(m);
      for (const [key, f] of Object.entries(flags)) {
        expect(() => toOption(key, f), `${m.name} ${f.flags}`).not.toThrow();
        for (const other of f.conflicts ?? []) expect(Object.keys(flags), `${m.name} ${f.flags} conflicts with ${other}`).toContain(other);
      }
    }
  });

  it('and the program gives each command exactly its declared options (shown in its help)', () => {
    const program = buildProgram();
    for (const m of commands) {
      let cmd: Command = program;
      for (const word of m.name.split(' ')) cmd = cmd.commands.find((c) => c.name() === word)!;
      cmd.helpInformation(); // declares the options, as running or asking for help does
      const longs = cmd.options.map((o) => o.long);
      expect(longs.sort(), m.name).toEqual(Object.values(flagsOf(m)).map((f) => /--[\w-]+/.exec(f.flags)![0]).sort());
    }
  });
});

/** Parses a command line with the real program and returns the options its action would get. */
async function parsed(argv: string[]): Promise<Record<string, unknown>> {
  const program = buildProgram((err) => {
    throw err;
  });
  let opts: Record<string, unknown> | undefined;
  const stop = new Error('parsed');
  program.hook('preAction', (_root, action) => {
    opts = action.opts();
    throw stop;
  });
  await expect(program.parseAsync(['node', 'cmdb-bulk', ...argv])).rejects.toBe(stop);
  return opts!;
}

/** The commander error a command line ends in. */
async function refused(argv: string[]): Promise<CommanderError> {
  const program = buildProgram((err) => {
    throw err;
  });
  const quiet = (c: Command): void => {
    c.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.commands.forEach(quiet);
  };
  quiet(program);
  const e = await program.parseAsync(['node', 'cmdb-bulk', ...argv]).then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(CommanderError);
  return e as CommanderError;
}

describe('the options object a command gets', () => {
  it('carries each default from its one declaration; the batch size is the API\'s', async () => {
    const create = await parsed(['create-inst', 'a.csv', '--obj', 'bk_switch']);
    expect(create).toMatchObject({ obj: 'bk_switch', retries: 5, retryDelay: 500, timeout: 60, batchSize: 200, empty: 'omit', schema: true, progress: true, color: true });
    // No encoding unless given: the input reader looks for a byte order mark first. No concurrency unless given:
    // the connection sizes the requests in flight (src/http/in-flight.ts).
    expect(create).not.toHaveProperty('encoding');
    expect(create).not.toHaveProperty('concurrency');
    expect((await parsed(['update-inst', 'a.csv', '--obj', 'bk_switch'])).batchSize).toBe(100);
    // batch_update_inst has no server limit: a big batch is the user's call
    expect((await parsed(['update-inst', 'a.csv', '--obj', 'bk_switch', '--batch-size', '5000'])).batchSize).toBe(5000);
    expect((await parsed(['apaas-update', 'a.csv', '--namespace', 'ns', '--object', 'o'])).batchSize).toBe(500);
  });

  it('has the types the declarations give (checked by tsc)', () => {
    expectTypeOf<RowsOptions['concurrency']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<RowsOptions['batchSize']>().toEqualTypeOf<number>();
    expectTypeOf<RowsOptions['encoding']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<RowsOptions['format']>().toEqualTypeOf<'csv' | 'json' | 'ndjson' | 'xlsx' | undefined>();
    expectTypeOf<RowsOptions['schema']>().toEqualTypeOf<boolean>();
    expectTypeOf<RowsOptions['gateway']>().toEqualTypeOf<'esb' | 'apigw' | undefined>();
    expectTypeOf<OperationOptions['biz']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<OperationOptions['empty']>().toEqualTypeOf<'omit' | 'null'>();
  });

  it('carries typed values', async () => {
    const o = await parsed(['update-process', 'p.csv', '--biz', '2', '--timeout', '0.25', '--no-schema', '--encoding', 'gb18030', '--format', 'ndjson']);
    expect(o).toMatchObject({ biz: 2, timeout: 0.25, schema: false, encoding: 'gb18030', format: 'ndjson' });
  });

  it('is never made from a bad value: the flag is named', async () => {
    expect((await refused(['create-inst', 'a.csv', '--obj', 'x', '--timeout', '0'])).message).toMatch(/'--timeout <seconds>' argument '0' is invalid\. expected a value greater than 0/);
    expect((await refused(['associate', 'a.csv', '--batch-size', '500'])).message).toMatch(/500 is over the limit of batch_create_instance_association \(200 rows a request\)/);
    expect((await refused(['create-inst', 'a.csv', '--obj', 'x', '--resume', 'r.csv', '--retry-failed', 'r.csv'])).code).toBe('commander.conflictingOption');
    expect((await refused(['create-inst', 'a.csv', '--obj', 'x', '--empty', 'blank'])).code).toBe('commander.invalidArgument');
    expect((await refused(['update-process', 'p.csv', '--biz', '0'])).code).toBe('commander.invalidArgument');
    expect((await refused(['create-inst', 'a.csv'])).code).toBe('commander.missingMandatoryOptionValue');
  });
});

describe('data command manifests and their operations', () => {
  it('every operation has a manifest and every data manifest an operation', () => {
    expect(operationManifests.map((m) => m.name).sort()).toEqual([...operationCommands].sort());
  });

  it('agree on command, API, service and batch limits', async () => {
    for (const m of operationManifests as readonly OperationManifest[]) {
      const op = (await loadOperation(m.name))!;
      expect({ command: op.command, api: op.api, service: op.service, maxBatch: op.maxBatch, defaultBatch: op.defaultBatch }, m.name).toEqual({
        command: m.name,
        api: m.api,
        service: m.service,
        maxBatch: m.maxBatch,
        defaultBatch: m.defaultBatch,
      });
    }
    expect(await loadOperation('constructor')).toBeUndefined();
  });
});
