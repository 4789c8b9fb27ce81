/**
 * What a command says about itself, as data: its name, what it does, its arguments, the shared flag groups it
 * takes and its own flags, examples. The implementation is a module loaded only when the command runs, so
 * `--help` reads these files and nothing else. Adding a command is one manifest here plus its implementation.
 */
import type { FlagSet } from '../flags.js';
import type { BatchLimits, FlagGroup } from './shared.js';

export interface ArgSpec {
  /** As commander takes it: '<file>', '[shell]'. */
  spec: string;
  help: string;
}

/**
 * Runs a command with its parsed options (typed by the implementation as `Values` of the flags the manifest
 * declares) and its arguments; resolves to the exit code.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandRun = (opts: any, args: string[]) => Promise<number>;

export interface CommandManifest<Own extends FlagSet = FlagSet> {
  /** As typed after `cmdb-bulk`: 'create-inst', 'config check'. */
  name: string;
  summary: string;
  args: readonly ArgSpec[];
  /** Shared groups, declared once in shared.ts. */
  groups: readonly FlagGroup[];
  own: Own;
  examples: readonly string[];
  run(): Promise<CommandRun>;
}

/** A data command: one API operation fed rows from a file (the pipeline runs it). */
export interface OperationManifest<Own extends FlagSet = FlagSet> extends CommandManifest<Own>, BatchLimits {
  service: 'cmdb' | 'feishu';
}

/** Every flag a command takes, its own first, keyed as its options object has them. */
export function flagsOf(m: CommandManifest): FlagSet {
  return Object.assign({}, m.own, ...m.groups.map((g) => g.flags)) as FlagSet;
}
