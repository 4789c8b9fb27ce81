/**
 * Answers are read once, where they enter: each endpoint's data has a zod schema (http/cmdb.ts, http/feishu.ts),
 * checked once per request, never per row. An answer that does not fit its schema is one error, made here.
 */
import type { z } from './zod.js';
import { CliError, EXIT } from '../core/errors.js';
import { AmbiguousWriteError } from './sender.js';

/** The server answered success, but not in the shape its API documents: the tool cannot read the outcome. */
export class ProtocolError extends CliError {
  readonly op: string;
  readonly status: number;
  constructor(message: string, opts: { op: string; status: number }) {
    super(message, EXIT.UNREACHABLE, 'the server (or something between it and this machine) answers in a shape this tool does not know; run with --verbose to see the answer, and report it');
    this.op = opts.op;
    this.status = opts.status;
  }
}

export interface AnswerOf {
  service: string;
  op: string;
  /** HTTP status of the answer. */
  status: number;
  /** Does the request change data? A write whose answer cannot be read may have been applied. */
  write: boolean;
}

/**
 * The endpoint's data, typed, or a ProtocolError naming the first thing that does not fit. For a write the
 * ProtocolError comes inside an AmbiguousWriteError: the request may have been applied, and the pipeline finds
 * out what happened before sending anything again.
 */
export function readAnswer<S extends z.ZodType>(schema: S, data: unknown, at: AnswerOf): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = ['data', ...(issue?.path ?? []).map(String)].join('.');
  const e = new ProtocolError(`${at.service} ${at.op}: the answer does not have the documented shape (${where}: ${issue?.message ?? 'unreadable'})`, at);
  if (at.write) throw new AmbiguousWriteError(`${e.message}; the request may have been applied`, { cause: e, status: at.status });
  throw e;
}
