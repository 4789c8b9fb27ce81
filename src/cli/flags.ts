/**
 * A flag is declared once, as data: how it is typed, its help, its default, and the check its value must pass.
 * The commander program, the shell completion, the docs tables and the CLI-surface snapshot are all made from
 * these declarations, and the type of each value flows from here to the code that reads it (`Values<set>`).
 * This file imports nothing: `--help` loads it.
 */

export type FlagKind = 'switch' | 'negatable' | 'text' | 'int' | 'number' | 'choice';

export interface Flag<T = unknown, Always extends boolean = boolean> {
  /** As commander takes it: '--batch-size <n>', '--no-schema', '-q, --quiet'. */
  readonly flags: string;
  readonly help: string;
  readonly kind: FlagKind;
  readonly choices?: readonly string[];
  /** The value when the flag is not given (commander fills it in; nothing downstream sets it again). */
  readonly default?: T;
  /** What happens when the flag is not given, for help and docs, where no fixed value says it. */
  readonly defaultText?: string;
  readonly required?: boolean;
  /** Whole numbers and numbers: the smallest value allowed, or one it must be above. */
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
  /** Said when a value is over `max` (e.g. which API's limit it is). */
  readonly maxReason?: string;
  /** Keys of the flags this one cannot be given with. */
  readonly conflicts?: readonly string[];
  /** Phantom fields: the value's type, and whether a value is always there (a default, or required). */
  readonly _value?: T;
  readonly _always?: Always;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFlag = Flag<any, boolean>;
export type FlagSet = Readonly<Record<string, AnyFlag>>;

type ValueOf<F> = F extends Flag<infer T, boolean> ? T : never;
type AlwaysKeys<S> = { [K in keyof S]: S[K] extends Flag<unknown, true> ? K : never }[keyof S];

/** The parsed options of a flag set: flags with a default (or required) always have a value, the others may not. */
export type Values<S extends FlagSet> = { -readonly [K in AlwaysKeys<S>]: ValueOf<S[K]> } & {
  -readonly [K in Exclude<keyof S, AlwaysKeys<S>>]?: ValueOf<S[K]>;
};

interface Common {
  help: string;
  conflicts?: readonly string[];
  defaultText?: string;
}
type Always<O> = O extends { default: unknown } ? true : O extends { required: true } ? true : false;

/** A flag without a value: true when given. */
export function on(flags: string, o: Common): Flag<boolean, false> {
  return { flags, kind: 'switch', ...o };
}

/** `--no-<name>`: the value (under <name>) is true unless the flag is given. */
export function negatable(flags: string, o: Common): Flag<boolean, true> {
  return { flags, kind: 'negatable', ...o };
}

export function text<O extends Common & { default?: string; required?: boolean }>(flags: string, o: O): Flag<string, Always<O>> {
  return { flags, kind: 'text', ...o };
}

interface Range {
  min?: number;
  above?: number;
  max?: number;
  maxReason?: string;
}

export function int<O extends Common & Range & { default?: number; required?: boolean }>(flags: string, o: O): Flag<number, Always<O>> {
  return { flags, kind: 'int', ...o };
}

export function number<O extends Common & Range & { default?: number; required?: boolean }>(flags: string, o: O): Flag<number, Always<O>> {
  return { flags, kind: 'number', ...o };
}

export function choice<const C extends readonly string[], O extends Common & { default?: C[number]; required?: boolean }>(
  flags: string,
  choices: C,
  o: O,
): Flag<C[number], Always<O>> {
  return { flags, kind: 'choice', choices, ...o };
}

/** The long name as typed, e.g. '--batch-size' for '--batch-size <n>'. */
export function longName(f: AnyFlag): string {
  return /--[\w-]+/.exec(f.flags)![0];
}

/** Whether the flag takes a value ('<n>', '[x]'). */
export function takesValue(f: AnyFlag): boolean {
  return /[<[]/.test(f.flags);
}

/**
 * The value of a flag typed as `raw`, or an Error saying what is wrong with it (commander shows it after
 * "option '--timeout <seconds>' argument '0' is invalid."). Choices are checked by commander itself.
 */
export function parseValue(f: AnyFlag, raw: string): unknown {
  if (f.kind !== 'int' && f.kind !== 'number') return raw;
  const trimmed = raw.trim();
  const n = Number(trimmed);
  if (f.kind === 'int' && (!/^[+-]?\d+$/.test(trimmed) || !Number.isSafeInteger(n))) throw new Error(`"${raw}" is not a whole number`);
  if (trimmed === '' || !Number.isFinite(n)) throw new Error(`"${raw}" is not a number`);
  const { min, above, max } = f;
  const low = (min !== undefined && n < min) || (above !== undefined && n <= above);
  const high = max !== undefined && n > max;
  if (high && f.maxReason) throw new Error(`${n} is over ${f.maxReason}`);
  if (low || high) throw new Error(`expected ${rangeWords(f)}`);
  return n;
}

/** The allowed values of a numeric flag, in words (help, docs, snapshot), or undefined. */
export function rangeWords(f: AnyFlag): string | undefined {
  const { min, above, max } = f;
  if (min !== undefined && max !== undefined) return `a value from ${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  if (above !== undefined) return `a value greater than ${above}`;
  if (max !== undefined) return `at most ${max}`;
  return undefined;
}
