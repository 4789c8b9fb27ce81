/**
 * The flag groups several commands share, each declared once. A command's manifest names the groups it takes;
 * the docs list each group once (docs/cli.md "Options").
 */
import { INPUT_FORMATS, REPORT_FORMATS } from '../../core/formats.js';
import { choice, int, negatable, number, on, text, type FlagSet, type Values } from '../flags.js';

export interface FlagGroup<S extends FlagSet = FlagSet> {
  title: string;
  flags: S;
}

const group = <S extends FlagSet>(title: string, flags: S): FlagGroup<S> => ({ title, flags });

export const inputFlags = group('Input', {
  format: choice('--format <format>', INPUT_FORMATS, { help: 'input format', defaultText: 'from the extension; for stdin, from the content' }),
  encoding: text('--encoding <label>', {
    help: 'input text encoding, e.g. gb18030 for files saved by Excel in China; wins over a byte order mark',
    defaultText: 'UTF-16 when the file starts with its byte order mark, else utf-8',
  }),
  delimiter: text('--delimiter <char>', { help: 'CSV delimiter: one character (, ; | ...), or the word tab', defaultText: 'found in the header' }),
  sheet: text('--sheet <name>', { help: '.xlsx: the sheet to read', defaultText: 'the sheet named after --obj, else the first' }),
  empty: choice('--empty <mode>', ['omit', 'null'], { help: 'empty CSV cells: omit the field, or send null to clear it', default: 'omit' }),
  schema: negatable('--no-schema', { help: "do not fetch the model's attributes: no type coercion (except header hints) and no field checks" }),
});

export const outputFlags = group('Report and output', {
  report: text('--report <path>', {
    help: 'where the per-row report goes ("-" for stdout); a dry run writes its plan beside it (x.plan.csv)',
    defaultText: 'a new <input>.<command>.<time>.report.<ext> next to the input (for stdin, in the current folder), linked from <input>.<command>.latest.report.<ext>',
  }),
  overwrite: on('--overwrite', { help: 'let --report write over a file that holds a report with ok rows' }),
  reportFormat: choice('--report-format <format>', REPORT_FORMATS, { help: 'report format', defaultText: "the --report path's extension, else the input's format" }),
  failed: text('--failed <path>', { help: "also write the rows that did not end ok, in the input's format, with an _error column, ready to fix and feed back" }),
  json: on('--json', { help: 'print one JSON summary on stdout and nothing else there' }),
  quiet: on('-q, --quiet', { help: 'print nothing but errors and the final summary' }),
  progress: negatable('--no-progress', { help: 'no progress bar or progress lines' }),
  color: negatable('--no-color', { help: 'no colours' }),
  verbose: on('-v, --verbose', { help: 'trace every request and response (secrets masked)' }),
});

/** What a data command's `--batch-size` may be: the API's limit and the default. */
export interface BatchLimits {
  api: string;
  /** The server's limit per request, or null when it has none. */
  maxBatch: number | null;
  defaultBatch: number;
}

/** The run's flags. `--batch-size` takes its default and its limit from the command's API. */
export function runFlags(l: BatchLimits) {
  return group('Run', {
    dryRun: on('--dry-run', { help: 'read and check every row and plan the batches; send nothing' }),
    skipInvalid: on('--skip-invalid', { help: 'send the valid rows and report the invalid ones (default: any invalid row stops the run before sending)' }),
    batchSize: int('--batch-size <n>', {
      help: "rows per request (never more than the API's limit)",
      default: l.defaultBatch,
      min: 1,
      ...(l.maxBatch === null ? {} : { max: l.maxBatch, maxReason: `the limit of ${l.api} (${l.maxBatch} rows a request); use --batch-size ${l.maxBatch} or less` }),
    }),
    concurrency: int('--concurrency <n>', {
      help: 'the most requests in flight at once',
      defaultText: 'what --rate and the measured round trip need (4 to 64); 4 for a server without a rate limit',
      min: 1,
      max: 64,
    }),
    resume: text('--resume <report>', { help: 'finish an earlier run: skip the rows its report has as ok (matched by content), and complete that report', conflicts: ['retryFailed'] }),
    retryFailed: text('--retry-failed <report>', { help: 'send only the rows an earlier report has as failed or unsent', conflicts: ['resume'] }),
  });
}

/** Where to send and who the tool is (the settings are resolved flag → environment → config file). */
export const targetFlags = group('Server and settings', {
  url: text('--url <url>', { help: 'server base URL (env CMDB_URL / FEISHU_URL)' }),
  profile: text('--profile <name>', { help: 'settings profile from the config file (env CMDB_BULK_PROFILE)' }),
  config: text('--config <path>', { help: 'config file', defaultText: '~/.config/cmdb-bulk/config.json' }),
  ca: text('--ca <file>', { help: 'extra CA certificate (PEM) for a private CA' }),
  insecure: on('--insecure', { help: 'do not verify TLS certificates (warns on every run)' }),
  sandbox: on('--sandbox', { help: 'run against a built-in simulator started in this process' }),
});

export const cmdbFlags = group('CMDB', {
  gateway: choice('--gateway <door>', ['esb', 'apigw'], {
    help: 'CMDB front door (env CMDB_GATEWAY)',
    defaultText: 'apigw when the URL has /api/bk-cmdb/, else esb',
  }),
  tenant: text('--tenant <id>', { help: 'tenant of a multi-tenant CMDB, sent as X-Bk-Tenant-Id (env BK_TENANT_ID)' }),
  supplierAccount: text('--supplier-account <id>', {
    help: 'supplier account: bk_supplier_account in the ESB body, X-Bkcmdb-Supplier-Account on apigw (env BK_SUPPLIER_ACCOUNT)',
  }),
});

export const sendingFlags = group('Requests', {
  rate: text('--rate <spec>', { help: 'requests per window, e.g. 50/s,1000/min ("off" for none)', defaultText: "the service's documented limits" }),
  retries: int('--retries <n>', { help: 'retries for a failed request (rate-limit waits do not count)', default: 5, min: 0 }),
  retryDelay: int('--retry-delay <ms>', { help: 'first retry delay in ms; doubles each retry, with jitter', default: 500, min: 0 }),
  timeout: number('--timeout <seconds>', { help: 'per-request timeout in seconds', default: 60, above: 0 }),
});

/** The groups a data command takes, in help order; CMDB's front door only for CMDB. */
export function dataGroups(l: BatchLimits, service: 'cmdb' | 'feishu'): readonly FlagGroup[] {
  return service === 'cmdb' ? [inputFlags, outputFlags, runFlags(l), targetFlags, cmdbFlags, sendingFlags] : [inputFlags, outputFlags, runFlags(l), targetFlags, sendingFlags];
}

export type TargetOptions = Values<typeof targetFlags.flags> & Partial<Values<typeof cmdbFlags.flags>>;
/** What a connection is made from: where, how requests go, how many at once, whether to trace them. */
export type ConnectOptions = TargetOptions & Values<typeof sendingFlags.flags> & { concurrency?: number; verbose?: boolean };
