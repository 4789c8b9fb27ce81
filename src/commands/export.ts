/**
 * `export` and `apaas-export`: read every instance (association, record) page by page and write each page to the
 * file as it arrives, so memory stays flat whatever the count. One harness runs both: connection, progress,
 * Ctrl-C, the summary and the exit code; each command only says where its pages come from and which columns
 * they have. docs/export.md describes the behaviour and cites the server source for each request.
 */
import { CliError, EXIT, UsageError } from '../core/errors.js';
import { connectCmdb, connectFeishu } from '../cli/connect.js';
import type { ConnectOptions } from '../cli/manifests/shared.js';
import { emptySummary } from '../cli/errors.js';
import type { CmdbApi } from '../http/cmdb.js';
import { appendStepSummary, fmtInt, type RunSummary } from '../report/summary.js';
import { attributeToField, BUILTIN_MODELS, type CmdbAttribute } from '../schema/model.js';
import type { FieldSpec } from '../schema/fields.js';
import type { Connection } from '../pipeline/run.js';
import { envelopeError } from '../operations/cmdb/common.js';
import { colorEnabled, painter } from '../ui/color.js';
import { createProgress, progressMode, type Progress } from '../ui/progress.js';
import { recordPages } from '../export/apaas-pages.js';
import { ASSOC_COLUMNS, associationKind, associationPages, hostPages, instancePages, type Pages } from '../export/cmdb-pages.js';
import { NAMED_ASSOC_COLUMNS, namedAssociationPages, namingRule, ruleLabel, type LeftOut } from '../export/cmdb-assoc.js';
import { planColumns, specIndex, whereRules } from '../export/query.js';
import { destination, exportFormat, FORMATS, RowSink, type AssociationBook, type ExportFormat } from '../export/sink.js';

/** The parsed options (src/cli/manifests/export.ts), with the command's name. */
interface ExportOpts extends ConnectOptions {
  command: string;
  obj?: string;
  assoc?: string;
  namespace?: string;
  object?: string;
  out?: string;
  format?: string;
  fields?: string;
  where?: string[];
  pageSize: number;
  overwrite?: boolean;
  json?: boolean;
  quiet?: boolean;
  progress: boolean;
  color: boolean;
}

/** What one export reads: its pages, the file's columns, and the notes to show before it starts. */
interface Plan {
  what: string;
  columns: string[];
  specs: Map<string, FieldSpec>;
  notes: string[];
  /** cmdb-xlsx of associations: the model sheet beside CMDB's association sheet. */
  book?: AssociationBook;
  pages(signal: AbortSignal): Promise<Pages & { leftOut?: LeftOut }>;
}

interface Io {
  info(line: string): void;
  progress: Progress;
}

function progressInterval(env: NodeJS.ProcessEnv): number {
  const v = Number(env.CMDB_BULK_PROGRESS_INTERVAL_MS);
  return Number.isFinite(v) && v >= 1 ? v : 15_000;
}

/** The `--json` summary of an export: the usual keys (total = ok = rows written), and where the file went. */
type ExportSummary = RunSummary & { out?: string; format?: ExportFormat; what?: string; left_out?: string[] };

/** Writes every page to the sink as it comes, with progress; returns when the last page is in the file. */
async function writePages(pages: Pages, sink: RowSink, progress: Progress): Promise<void> {
  progress.update({ done: 0, total: pages.total ?? 0, ok: 0, failed: 0 });
  for await (const rows of pages.pages) {
    await sink.page(rows);
    progress.update({ done: sink.rows, total: pages.total ?? 0, ok: sink.rows, failed: 0 });
  }
  await sink.commit();
}

/** Why an export stopped, for the summary: Ctrl-C, or the user-facing error (anything else is a bug: rethrown). */
function stopReason(e: unknown, interrupted: boolean, rows: number, out: string | undefined): { code: number; why: string } {
  if (interrupted) return { code: EXIT.INTERRUPTED, why: `interrupted after ${fmtInt(rows)} rows; ${out === '-' ? 'the output on stdout is incomplete' : `${out ?? 'the file'} was not written`}` };
  if (!(e instanceof CliError)) throw e;
  return { code: e.exitCode, why: e.message + (e.hint ? `\n${e.hint}` : '') };
}

/** Runs one export: check the flags, connect, plan, write every page, commit; returns the exit code. */
async function runExport(
  o: ExportOpts,
  name: string,
  check: () => void,
  connect: (io: Io) => Promise<Connection>,
  plan: (conn: Connection, signal: AbortSignal) => Promise<Plan>,
): Promise<number> {
  const env = process.env;
  const color = colorEnabled({ flag: o.color, stream: process.stderr, env });
  const paint = painter(color);
  const started = Date.now();
  const mode = progressMode({ progress: o.progress, quiet: !!o.quiet, stream: process.stderr, env });
  const progress = createProgress({ mode, stream: process.stderr, label: o.command, color, intervalMs: progressInterval(env) });
  const io: Io = { info: (l) => (o.quiet ? undefined : progress.log(l)), progress };
  const stop = new AbortController();
  const onSignal = () => {
    progress.log(paint.warn('interrupted: stopping the export'));
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let conn: Connection | undefined;
  let sink: RowSink | undefined;
  let out: string | undefined;
  const summary: ExportSummary = { ...emptySummary(o.command), report: null };
  try {
    check();
    if (o.out === '-' && o.json) throw new UsageError('--out - and --json both want stdout', 'write the export to a file with --out <path>');
    const format = exportFormat(o.format, o.out);
    if (format === 'cmdb-xlsx' && !o.obj && !o.assoc) throw new UsageError('--format cmdb-xlsx is CMDB\'s layout for the instances of a model (--obj) or the associations of a kind (--assoc)', 'use --format xlsx for a plain sheet');
    out = o.out ?? `${name}.${FORMATS[format].ext}`;
    const dest = destination(out, format, name, !!o.overwrite);
    conn = await connect(io);
    const p = await plan(conn, stop.signal);
    for (const n of p.notes) io.info(paint.dim(n));
    const pages = await p.pages(stop.signal);
    sink = await RowSink.open(dest, p.columns, p.specs, p.book);
    await writePages(pages, sink, progress);
    const left = pages.leftOut?.count ?? 0;
    Object.assign(summary, { total: sink.rows + left, ok: sink.rows, failed: left, exit_code: left ? EXIT.PARTIAL : EXIT.OK, out, format, what: p.what });
    if (left) summary.left_out = pages.leftOut!.examples;
  } catch (e) {
    await sink?.discard();
    const { code, why } = stopReason(e, stop.signal.aborted, sink?.rows ?? 0, out);
    Object.assign(summary, { exit_code: code, error: why });
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    Object.assign(summary, { requests: conn?.stats().requests ?? 0, retries: conn?.stats().retries ?? 0, duration_ms: Date.now() - started });
    await conn?.close();
  }
  printSummary(summary, { json: !!o.json, color });
  return summary.exit_code;
}

function printSummary(s: ExportSummary, o: { json: boolean; color: boolean }): void {
  appendStepSummary(s);
  const paint = painter(o.color);
  if (o.json) process.stdout.write(JSON.stringify(s) + '\n');
  if (s.error) {
    process.stderr.write(`${paint.fail('error:')} ${s.error}\n`);
    return;
  }
  if (o.json) return;
  const secs = (s.duration_ms / 1000).toFixed(1);
  const where = s.out === '-' ? 'stdout' : s.out;
  process.stderr.write(`${paint.ok('exported')} ${fmtInt(s.ok)} ${s.what} to ${where} (${fmtInt(s.requests)} request${s.requests === 1 ? '' : 's'}, ${secs} s)\n`);
  if (s.failed) {
    const lines = [
      `${paint.fail('left out:')} ${fmtInt(s.failed)} association(s) whose source or target cannot be named by its unique rule's fields:`,
      ...(s.left_out ?? []).map((l) => `  ${l}`),
      ...(s.failed > (s.left_out?.length ?? 0) ? [`  … and ${fmtInt(s.failed - (s.left_out?.length ?? 0))} more`] : []),
      'Next: export them by id (--format csv or xlsx: the columns associate reads), or give the instances values a unique rule can name them by.',
    ];
    process.stderr.write(lines.join('\n') + '\n');
  }
}

/** The model's attributes. */
async function modelAttributes(api: CmdbApi, obj: string, signal: AbortSignal): Promise<CmdbAttribute[]> {
  const env = await api.call('search_object_attribute', { bk_obj_id: obj }, { idempotent: true, signal });
  if (!env.result) throw new UsageError(`cannot read the attributes of model "${obj}": ${envelopeError(env)}`, 'check --obj');
  const attrs = Array.isArray(env.data) ? (env.data as CmdbAttribute[]) : [];
  if (attrs.length === 0) throw new UsageError(`model "${obj}" has no attributes: it does not exist or is not visible to this app`, 'check --obj (a model id such as bk_switch, not its display name)');
  return attrs;
}

/** The model's attributes, as field specs. */
async function modelSpecs(api: CmdbApi, obj: string, signal: AbortSignal): Promise<FieldSpec[]> {
  return (await modelAttributes(api, obj, signal)).map(attributeToField);
}

async function instancePlan(api: CmdbApi, o: ExportOpts, signal: AbortSignal): Promise<Plan> {
  const obj = o.obj!;
  if (BUILTIN_MODELS.has(obj) && obj !== 'host') {
    throw new UsageError(`export reads custom models and host; "${obj}" is a built-in model that search_object_instances refuses (code 1199084)`, 'choose a custom model (e.g. --obj bk_switch) or --obj host');
  }
  const specs = await modelSpecs(api, obj, signal);
  const { columns, leftOut } = planColumns(specs, o.fields);
  const rules = whereRules(o.where ?? [], specs);
  const fields = columns.slice(1);
  const notes = leftOut.length
    ? [`note: left out ${leftOut.join(', ')}: not editable, so update-inst would refuse the column; name it in --fields to export it anyway`]
    : [];
  if (obj === 'host') notes.push('note: host ids (bk_host_id) are written in column bk_inst_id, the column update-inst --obj host reads');
  return {
    what: `${obj} instances`,
    columns,
    specs: specIndex(specs),
    notes,
    pages: (s) =>
      obj === 'host'
        ? hostPages(api, { fields, rules, pageSize: o.pageSize, signal: s })
        : instancePages(api, { obj, fields, rules, pageSize: o.pageSize, signal: s }),
  };
}

async function associationPlan(api: CmdbApi, o: ExportOpts, signal: AbortSignal): Promise<Plan> {
  const asstId = o.assoc!;
  const { obj, asstObj } = await associationKind(api, asstId, signal);
  if (exportFormat(o.format, o.out) === 'cmdb-xlsx') return namedAssociationPlan(api, o, { obj, asstObj }, signal);
  return {
    what: `${asstId} associations`,
    columns: ASSOC_COLUMNS,
    specs: new Map(),
    notes: [],
    pages: async (s) => associationPages(api, { obj, asstId, pageSize: o.pageSize, signal: s }),
  };
}

/**
 * `--assoc --format cmdb-xlsx`: CMDB's association sheet, each instance named by the fields of a unique rule of its
 * model (src/export/cmdb-assoc.ts), beside the source model's empty sheet (src/export/cmdb-assoc-sheet.ts).
 */
async function namedAssociationPlan(api: CmdbApi, o: ExportOpts, kind: { obj: string; asstObj: string }, signal: AbortSignal): Promise<Plan> {
  const asstId = o.assoc!;
  const srcAttrs = await modelAttributes(api, kind.obj, signal);
  const src = await namingRule(api, kind.obj, srcAttrs, signal);
  const dst = kind.asstObj === kind.obj ? src : await namingRule(api, kind.asstObj, await modelAttributes(api, kind.asstObj, signal), signal);
  const assumed = [src, dst].filter((r) => r.from === 'assumed').map((r) => r.obj);
  const notes = [
    `note: instances named by ${src.obj}: ${ruleLabel(src)}${dst === src ? '' : `; ${dst.obj}: ${ruleLabel(dst)}`}. In CMDB, import the file on ${kind.obj}'s page and pick these unique rules`,
  ];
  if (assumed.length) notes.push(`note: the ESB cannot read unique rules: ${[...new Set(assumed)].join(', ')} named by the preset rule (use the gateway to have the server's rules read)`);
  return {
    what: `${asstId} associations`,
    columns: NAMED_ASSOC_COLUMNS,
    specs: new Map(),
    notes,
    book: { model: kind.obj, columns: srcAttrs.map((a) => a.bk_property_id), specs: specIndex(srcAttrs.map(attributeToField)) },
    pages: async (s) => namedAssociationPages(api, { asstId, src, dst, pageSize: o.pageSize, signal: s }),
  };
}

/** Commander's options as ExportOpts; one page at a time, so one connection is enough. */
function exportOpts(command: string, opts: Record<string, unknown>): ExportOpts {
  return { concurrency: 1, ...opts, command } as unknown as ExportOpts;
}

export async function exportAction(opts: Record<string, unknown>): Promise<number> {
  const o = exportOpts('export', opts);
  return runExport(
    o,
    o.obj ?? o.assoc ?? 'export',
    () => {
      // --obj with --assoc is refused by the flags themselves (src/cli/manifests/export.ts).
      if (!o.obj && !o.assoc) throw new UsageError('say what to export: --obj <bk_obj_id> or --assoc <bk_obj_asst_id>', 'e.g. cmdb-bulk export --obj bk_switch --out switches.csv');
      if (o.assoc && (o.fields || o.where?.length)) throw new UsageError('--fields and --where apply to instances (--obj), not to --assoc', 'leave them out: --assoc writes the columns associate reads');
    },
    (io) => connectCmdb(o, connectIo(io)),
    async (conn, signal) => (o.assoc ? associationPlan(conn.cmdb!, o, signal) : instancePlan(conn.cmdb!, o, signal)),
  );
}

export async function apaasExportAction(opts: Record<string, unknown>): Promise<number> {
  const o = exportOpts('apaas-export', opts);
  const columns = ['_id', ...new Set((o.fields ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '' && f !== '_id'))];
  return runExport(
    o,
    o.object!,
    () => {
      if (columns.length === 1) {
        throw new UsageError(
          'apaas-export needs --fields: batch_query returns only the fields it is asked for, and the open platform has no call that lists an object\'s fields',
          `name them, e.g. cmdb-bulk apaas-export --namespace ${o.namespace} --object ${o.object} --fields name,status`,
        );
      }
    },
    (io) => connectFeishu(o, connectIo(io)),
    async (conn) => ({
      what: `${o.namespace}/${o.object} records`,
      columns,
      specs: new Map(),
      notes: [],
      pages: async (s) => recordPages(conn.feishu!, { namespace: o.namespace!, object: o.object!, fields: columns.slice(1), pageSize: o.pageSize, signal: s }),
    }),
  );
}

function connectIo(io: Io) {
  return {
    env: process.env,
    warn: (l: string) => io.progress.log(l),
    trace: (l: string) => io.progress.log(l),
    onWait: (ms: number, reason: string) => io.progress.wait(ms, reason === 'rate limit' ? 'rate limit' : 'server rate limit'),
  };
}
