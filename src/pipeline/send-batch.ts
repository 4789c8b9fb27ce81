/**
 * Send-batch: rows in, exactly one outcome per row out (through the recorder). One batch may take several requests:
 * a refused all-or-nothing batch is split to find the rows at fault (or loses the rows the server named), a batch
 * the front door refuses as too big (413) is split and later batches sent in requests of the size that passed, rows
 * whose answer was unclear are reconciled or sent again, and a send error settles every row it concerns.
 */
import { AuthError, CliError, UnreachableError } from '../core/errors.js';
import type { RowOutcome } from '../core/types.js';
import { ProtocolError } from '../http/answer.js';
import { BodyTooLargeError, formatBytes } from '../http/front.js';
import { NotSentError } from '../http/limiter.js';
import { AmbiguousWriteError, RetriesExhaustedError } from '../http/sender.js';
import type { BatchVerdict, CheckedRow, Operation, RowResult, Session } from '../operations/types.js';
import { notSent, outcome, OUTCOME_UNKNOWN, type Pending } from './outcome.js';
import type { Recorder } from './recorder.js';

/** error_code of a create refused by the operation itself because a record with its key exists. */
const ALREADY_EXISTS = 'already_exists';
/** error_code the operation gives a row refused because one of its unique values is taken (CMDB). */
const DUPLICATE = 'duplicate';

/** Rounds of "unclear answer → reconcile → send the rest again" before the rest is left unknown. */
export const MAX_UNCLEAR_ROUNDS = 8;

export interface SendStats {
  /** Requests sent for batches (splits and re-sends included). */
  batches: number;
  /** Batches split (each half counts), or re-sent without the rows the server named. */
  splits: number;
  /** Rows the server answered "already exists" for (associate). */
  alreadyExisted: number;
  /** Rows of a create refused because a unique value is taken (a file loaded twice). */
  duplicates: number;
  /** Of those, rows whose existing record was found by the key (its id in the error). */
  explained: number;
}

export interface SendDeps {
  op: Pick<Operation, 'command' | 'unclear'>;
  session: Session;
  recorder: Pick<Recorder, 'record' | 'stop' | 'stopping' | 'stopReason'>;
  /** Aborted on the second Ctrl-C: requests in flight are abandoned. */
  kill: AbortSignal;
  /** Marks rows as on the wire before they are sent (the in-flight log). */
  inflight?: { mark(rows: number[]): void };
  stats: SendStats;
}

type Rejection = Extract<BatchVerdict, { kind: 'rejected' }>;

/** A refused request whose rows still need an outcome: to be split. */
interface Refused {
  rows: Pending[];
  verdict: Rejection;
}

/** What one bisection has learnt: whether any part of the batch got past the whole-request refusal. */
interface Probe {
  passed: boolean;
}

const sameError = (a: Rejection, b: Rejection) => a.code === b.code && a.message === b.message;

export class BatchSender {
  /** After a 413: the most rows a request may carry for the rest of the run (halved at each 413). */
  private bodyCap = Infinity;

  constructor(private readonly d: SendDeps) {}

  /** Sends one batch (rows of one group) and records an outcome for every row of it, whatever happens. */
  send(rows: Pending[]): Promise<void> {
    return this.capped(rows, 0, { passed: false });
  }

  /** Sends the rows in requests of at most `bodyCap` rows (the whole batch in one until a 413 was seen). */
  private async capped(rows: Pending[], depth: number, probe: Probe): Promise<void> {
    if (rows.length > this.bodyCap) this.d.stats.splits += Math.ceil(rows.length / this.bodyCap);
    for (let i = 0; i < rows.length; ) {
      const n = Math.min(this.bodyCap, rows.length - i);
      await this.run(rows.slice(i, i + n), depth, probe);
      i += n;
    }
  }

  /**
   * 413: the front door refused the request body as too big, so nothing in it was applied. Halve the requests from
   * now on and send these rows again; a single row that is refused alone fails with the reason.
   */
  private async tooLarge(rows: Pending[], e: BodyTooLargeError, depth: number, probe: Probe): Promise<void> {
    if (rows.length === 1) {
      const error = `this row alone makes a request body of ${formatBytes(e.bytes)}, more than the front door accepts (HTTP 413 Request Entity Too Large); it was not applied`;
      this.d.recorder.record([outcome(rows[0]!, 'failed', { error_code: 413, error })]);
      return;
    }
    this.bodyCap = Math.min(this.bodyCap, Math.ceil(rows.length / 2));
    await this.capped(rows, depth + 1, probe);
  }

  private async run(rows: Pending[], depth: number, probe: Probe): Promise<void> {
    const refused = await this.attempt(rows, depth, probe);
    if (refused) await this.bisect(refused, depth, probe);
  }

  /**
   * Sends the rows once and records their outcomes — except when the whole request was refused for a reason that
   * splitting may isolate: then the rows come back, unrecorded, with the refusal.
   */
  private async attempt(rows: Pending[], depth: number, probe: Probe): Promise<Refused | undefined> {
    const { d } = this;
    if (rows.length === 0) return undefined;
    if (d.kill.aborted || (d.recorder.stopping && depth === 0)) {
      d.recorder.record(rows.map((r) => notSent(r, { error: d.recorder.stopReason() })), 'stopped');
      return undefined;
    }
    // Rows an earlier run may have applied: look first, send only what is certainly not applied.
    if (rows.some((r) => r.verify) && d.op.unclear === 'reconcile') {
      const rest = await this.reconcile(rows.filter((r) => r.verify), 'sent by an earlier run that ended before the answer');
      rows = rows.filter((r) => !r.verify).concat(rest);
      if (rows.length === 0) return undefined;
    }
    d.stats.batches++;
    d.inflight?.mark(rows.map((r) => r.row));
    let verdict: BatchVerdict;
    try {
      verdict = await d.session.send(rows, d.kill);
    } catch (e) {
      await this.sendError(rows, e, depth, probe);
      return undefined;
    }
    if (verdict.kind === 'rows') {
      probe.passed = true;
      const outs = rows.map((r, i) => this.fromResult(r, verdict.results[i]));
      await this.explainExisting(rows, outs);
      d.recorder.record(outs);
      return undefined;
    }
    // The whole request was refused.
    if (verdict.named?.length) {
      const named = new Set(verdict.named);
      d.recorder.record(rows.filter((_, i) => named.has(i)).map((r) => outcome(r, 'failed', { error_code: verdict.code, error: verdict.message })));
      d.stats.splits++;
      await this.run(rows.filter((_, i) => !named.has(i)), depth + 1, probe);
      return undefined;
    }
    if (verdict.splittable && rows.length > 1) return { rows, verdict };
    this.fail(rows, verdict);
    return undefined;
  }

  /**
   * Bisects a refused batch: each half goes again on its own; a good half lands in one request, a bad half splits
   * further (one bad row in n costs 1 + 2⌈log2 n⌉ requests). Split only while a half can still succeed: when both
   * halves are refused with the same error and no part of the batch ever got past it, only the first half is
   * split further; if no part of it gets past the error either, the other half fails with it unsplit (a batch that
   * can never succeed costs about 2·log2 n requests, not 2n).
   */
  private async bisect(refused: Refused, depth: number, probe: Probe): Promise<void> {
    const { rows } = refused;
    const mid = Math.ceil(rows.length / 2);
    this.d.stats.splits += 2;
    const a = await this.attempt(rows.slice(0, mid), depth + 1, probe);
    const b = await this.attempt(rows.slice(mid), depth + 1, probe);
    if (a && b && sameError(a.verdict, b.verdict) && !probe.passed) {
      await this.bisect(a, depth + 1, probe);
      if (probe.passed) await this.bisect(b, depth + 1, probe);
      else this.fail(b.rows, b.verdict, 'not split further: every part of this batch sent alone was refused with this same error');
      return;
    }
    if (a) await this.bisect(a, depth + 1, probe);
    if (b) await this.bisect(b, depth + 1, probe);
  }

  private fail(rows: Pending[], v: Rejection, detail?: string): void {
    this.d.recorder.record(rows.map((r) => outcome(r, 'failed', { error_code: v.code, error: v.message, ...(detail ? { detail } : {}) })));
  }

  private fromResult(r: CheckedRow, res: RowResult | undefined): RowOutcome {
    if (!res) return outcome(r, 'failed', { error_code: 'protocol', error: 'the server answered fewer results than rows sent; outcome unknown' });
    if (res.ok) {
      if (res.detail === 'already exists') this.d.stats.alreadyExisted++;
      // One object per row, no arrays: this runs for every row sent.
      const detail = r.detail && res.detail ? `${r.detail}; ${res.detail}` : r.detail || res.detail || undefined;
      const o: RowOutcome = { row: r.row, status: 'ok', values: r.values, id: res.id, detail };
      if (r.action !== undefined) o.action = r.action;
      if (r.before !== undefined) o.before = r.before;
      return o;
    }
    return outcome(r, 'failed', { error_code: res.code, error: res.error, detail: res.detail });
  }

  /**
   * A create refused because a unique value is taken (error_code `duplicate`, named by the operation from the
   * server's text; or `already_exists` when the operation found it itself): counted, so the advice is an update, not
   * a retry that would fail again; and, where the operation can look the row up by its key (its reconcile, one
   * request for the batch's duplicates), said with the record's id — `already exists: bk_asset_id "SW-1" → id 1042`.
   * If the look-up fails or finds nothing, the server's own message stands.
   */
  private async explainExisting(rows: Pending[], outs: RowOutcome[]): Promise<void> {
    const { d } = this;
    if (d.op.unclear !== 'reconcile') return;
    d.stats.duplicates += outs.filter((o) => o.error_code === ALREADY_EXISTS).length;
    const dups = outs.flatMap((o, i) => (o.status === 'failed' && o.error_code === DUPLICATE ? [i] : []));
    if (dups.length === 0) return;
    d.stats.duplicates += dups.length;
    if (!d.session.reconcile) return;
    let found;
    try {
      found = await d.session.reconcile(dups.map((i) => rows[i]!), d.kill);
    } catch {
      return;
    }
    const key = d.session.uniqueKey;
    dups.forEach((i, k) => {
      const f = found[k];
      if (f?.state !== 'applied' || !f.created || f.id === undefined) return;
      // The look-up is by the first key field the row fills: named when it is the session's key.
      const value = key !== undefined ? rows[i]!.payload[key] : undefined;
      const what = value !== undefined && value !== null && value !== '' ? `: ${key} ${JSON.stringify(String(value))}` : ' on the server';
      const o = outs[i]!;
      outs[i] = { ...o, error: `already exists${what} → id ${f.id}`, detail: [o.detail, o.error && `the server: ${o.error}`].filter(Boolean).join('; ') };
      d.stats.explained++;
    });
  }

  /**
   * Rows that may or may not have been applied: asks the server (the operation's reconcile). Applied rows are
   * recorded ok; rows that cannot be checked are recorded failed "outcome unknown" with how to check them; the rows
   * certainly not applied are returned, to be sent again.
   */
  private async reconcile(rows: Pending[], why: string): Promise<Pending[]> {
    const { d } = this;
    if (!d.session.reconcile) {
      this.unknown(rows, `${why}; ${d.op.command} has no unique field to check by, so they were not sent again`);
      return [];
    }
    let found;
    try {
      found = await d.session.reconcile(rows, d.kill);
    } catch (e) {
      this.unknown(rows, `${why}; checking them on the server failed too (${(e as Error).message}): check them by hand, or run again with --resume <report>`);
      if (e instanceof CliError) d.recorder.stop(e);
      return [];
    }
    const again: Pending[] = [];
    const outs: RowOutcome[] = [];
    // Two rows of a create that find the same record: the server created the first and refused the second.
    const claimed = new Map<string | number, number>();
    rows.forEach((r, i) => {
      const f = found[i];
      if (!f || f.state === 'unknown') {
        const reason = f?.why ?? 'the server gave no answer for it';
        outs.push(outcome(r, 'failed', { error_code: OUTCOME_UNKNOWN, error: `${why}; it cannot be checked (${reason}): check it on the server by hand before sending it again` }));
      } else if (f.state === 'not-applied') {
        again.push({ ...r, verify: false });
      } else if (f.created && f.id !== undefined && claimed.has(f.id)) {
        outs.push(outcome(r, 'failed', { error_code: 'duplicate', error: `${why}; row ${claimed.get(f.id)} has the same ${d.session.uniqueKey ?? 'key'} and is the one on the server (id ${f.id}): this row was not created` }));
      } else {
        if (f.created && f.id !== undefined) claimed.set(f.id, r.row);
        // A create's record is found on the server; a delete's is found gone: the change was applied either way.
        const found = f.created ? 'found on the server' : 'found applied on the server';
        outs.push(outcome(r, 'ok', { ...(f.id !== undefined ? { id: f.id } : {}), detail: `${found} after an unclear answer (${why})` }));
      }
    });
    if (outs.length) d.recorder.record(outs);
    return again;
  }

  private unknown(rows: CheckedRow[], why: string): void {
    this.d.recorder.record(rows.map((r) => outcome(r, 'failed', { error_code: OUTCOME_UNKNOWN, error: why })));
  }

  private async sendError(rows: Pending[], e: unknown, depth: number, probe: Probe): Promise<void> {
    const { d } = this;
    if (e instanceof BodyTooLargeError) return this.tooLarge(rows, e, depth, probe);
    if (e instanceof NotSentError) {
      // The run stopped while this request waited for the rate limiter: never sent, safe to send again.
      d.recorder.record(rows.map((r) => notSent(r, { error: d.recorder.stopReason() })), 'stopped');
      return;
    }
    if (e instanceof AmbiguousWriteError) {
      const why = `no clear answer (${e.message})`;
      if (e.cause instanceof ProtocolError && d.op.unclear === 'resend') {
        // Sending it again would only bring back an answer that cannot be read either.
        this.unknown(rows, `the server's answer could not be read (${e.message}): check these rows on the server, or send them again with --retry-failed <report>`);
        return;
      }
      const rest = d.op.unclear === 'reconcile' ? await this.reconcile(rows, why) : rows;
      if (rest.length && depth < MAX_UNCLEAR_ROUNDS) return this.run(rest, depth + 1, probe);
      if (rest.length) this.unknown(rest, `no clear answer after ${depth} attempts (${e.message}): check these rows on the server, or run again with --resume <report>`);
      return;
    }
    if (e instanceof RetriesExhaustedError) {
      const msg = e.reachedServer ? `the server kept failing: ${e.lastError}` : `the server is unreachable: ${e.lastError}`;
      d.recorder.record(rows.map((r) => outcome(r, e.reachedServer ? 'failed' : 'unsent', { error_code: e.status ?? 'unreachable', error: msg })));
      d.recorder.stop(new UnreachableError(`${msg} (after the retries allowed by --retries)`, 'check the URL and the server, then run again with --resume <report>'));
      return;
    }
    if (e instanceof CliError) {
      d.recorder.record(rows.map((r) => outcome(r, 'unsent', { error_code: e instanceof AuthError ? 'auth' : 'stopped', error: e.message })));
      d.recorder.stop(e);
      return;
    }
    if (isAbort(e)) {
      // Second Ctrl-C while the request was out: we do not know what the server did.
      if (d.op.unclear === 'resend') d.recorder.record(rows.map((r) => outcome(r, 'unsent', { error: 'interrupted while the request was in flight; safe to send again' })));
      else this.unknown(rows, 'interrupted while the request was in flight; --resume checks these rows before sending them again');
      d.recorder.stop('interrupt');
      return;
    }
    throw e;
  }
}

function isAbort(e: unknown): boolean {
  return !!e && typeof e === 'object' && ((e as Error).name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR');
}
