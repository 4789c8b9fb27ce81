/**
 * Exit codes of the contract (PRODUCT.md) and the error classes that carry them.
 * src/cli/main.ts is the only place that turns these into process.exit().
 */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  PARTIAL: 3,
  AUTH: 4,
  UNREACHABLE: 5,
  INTERRUPTED: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error meant for the user: its message says what happened and what to do. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, unreadable or malformed input, invalid rows: nothing was sent (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.USAGE, hint);
  }
}

/** Authentication, permission or configuration problem (exit 4). */
export class AuthError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.AUTH, hint);
  }
}

/** The server stayed unreachable or kept failing after retries (exit 5). */
export class UnreachableError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.UNREACHABLE, hint);
  }
}
