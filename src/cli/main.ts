/**
 * The command-line program: every command, its options and its help. Only this file is loaded for --help and
 * --version (fast start); the work lives in modules imported when a command runs. This is also the one place that
 * turns errors into exit codes and calls process.exit.
 */
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT } from '../core/errors.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The subcommand this process runs (`help <command>` included), or undefined for all. Only that command gets its
 * long option lists: building them for all seven data commands was a sixth of `cmdb-bulk --help`'s own time.
 */
let only: string | undefined;
const wanted = (cmd: Command) => only === undefined || only === cmd.name();

export function commandIn(argv: string[]): string {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return (words[0] === 'help' ? words[1] : words[0]) ?? '';
}

/** Options every data command takes. */
function common(cmd: Command): Command {
  if (!wanted(cmd)) return cmd;
  return cmd
    .addOption(new Option('--format <format>', 'input format (default: from the extension; needed for stdin unless obvious)').choices(['csv', 'json', 'ndjson']))
    .option('--encoding <label>', 'input text encoding, e.g. gb18030 for files saved by Excel in China', 'utf-8')
    .option('--delimiter <char>', 'CSV delimiter (, ; tab |; default: found in the header)')
    .option('--report <path>', 'where the per-row report goes (default: next to the input; "-" for stdout)')
    .addOption(new Option('--report-format <format>', 'report format').choices(['csv', 'json', 'ndjson']))
    .option('--failed <path>', 'also write the rows that did not end ok, in the input\'s format, with an _error column, ready to fix and feed back')
    .option('--json', 'print one JSON summary on stdout and nothing else there')
    .option('--dry-run', 'read and check every row and plan the batches; send nothing')
    .option('--skip-invalid', 'send the valid rows and report the invalid ones (default: any invalid row stops the run before sending)')
    .option('--no-schema', 'do not fetch the model\'s attributes: no type coercion (except header hints) and no field checks')
    .addOption(new Option('--empty <mode>', 'empty CSV cells: omit the field, or send null to clear it').choices(['omit', 'null']).default('omit'))
    .option('--batch-size <n>', 'rows per request (at most the API\'s limit)', toInt)
    .option('--concurrency <n>', 'batches in flight at once', toInt, 4)
    .option('--rate <spec>', 'requests per window, e.g. 50/s,1000/min ("off" for none)')
    .option('--retries <n>', 'retries for a failed request (rate-limit waits do not count)', toInt, 5)
    .option('--retry-delay <ms>', 'first retry delay in ms; doubles each retry, with jitter', toInt, 500)
    .option('--timeout <seconds>', 'per-request timeout in seconds', toNumber, 60)
    .option('--resume <report>', 'finish an earlier run: skip the rows its report has as ok, and complete that report')
    .option('--retry-failed <report>', 'send only the rows an earlier report has as failed or unsent')
    .option('--url <url>', 'server base URL (env CMDB_URL / FEISHU_URL)')
    .option('--profile <name>', 'settings profile from the config file')
    .option('--config <path>', 'config file (default ~/.config/cmdb-bulk/config.json)')
    .option('--ca <file>', 'extra CA certificate (PEM) for a private CA')
    .option('--insecure', 'do not verify TLS certificates (warns on every run)')
    .option('--sandbox', 'run against a built-in simulator started in this process')
    .option('-q, --quiet', 'print nothing but errors and the final summary')
    .option('--no-progress', 'no progress bar or progress lines')
    .option('--no-color', 'no colours')
    .option('-v, --verbose', 'trace every request and response (secrets masked)');
}

function cmdbOptions(cmd: Command): Command {
  if (!wanted(cmd)) return cmd;
  return cmd
    .addOption(new Option('--gateway <door>', 'CMDB front door (env CMDB_GATEWAY; default apigw when the URL has /api/bk-cmdb/)').choices(['esb', 'apigw']))
    .option('--tenant <id>', 'tenant of a multi-tenant CMDB, sent as X-Bk-Tenant-Id (env BK_TENANT_ID)')
    .option('--supplier-account <id>', 'supplier account: bk_supplier_account in the ESB body, X-Bkcmdb-Supplier-Account on apigw (env BK_SUPPLIER_ACCOUNT)');
}

function toInt(v: string): number {
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${v}" is not a whole number`);
  return n;
}
function toNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a positive number`);
  return n;
}

type Action = (opts: Record<string, unknown>, cmd: Command) => Promise<number>;

/** Loads the command implementation lazily, runs it, exits with its code. */
function lazy(load: () => Promise<Action>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = { ...cmd.optsWithGlobals(), _args: cmd.args, _command: cmd.name() };
    let code: number;
    try {
      const action = await load();
      code = await action(opts, cmd);
    } catch (e) {
      const { reportCrash } = await import('./errors.js');
      code = reportCrash(e, opts);
    }
    process.exitCode = code;
    // Let stdout/stderr drain, then leave even if a stray handle is open.
    setImmediate(() => process.exit(code));
  };
}

const dataCommand = (name: string) => lazy(async () => (await import('./run-command.js')).commandAction(name));

/** The whole program; with `subcommand`, only that command gets its options (see `only`). */
export function buildProgram(subcommand?: string): Command {
  only = subcommand;
  const program = new Command('cmdb-bulk')
    .description('Bulk-load CSV / JSON / NDJSON files into BlueKing CMDB and Feishu aPaaS: checks every row first, batches under the API limits, keeps rate limits, retries safely, and reports every row.')
    .version(pkg.version, '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    .addHelpText('after', `
Exit codes: 0 all ok · 2 usage or input error, nothing sent · 3 some rows failed/invalid/unsent
            4 auth, permission or configuration · 5 server unreachable · 130 interrupted · 1 internal error
Environment: CMDB_URL CMDB_GATEWAY BK_APP_CODE BK_APP_SECRET BK_USERNAME BK_TOKEN
             FEISHU_URL FEISHU_APP_ID FEISHU_APP_SECRET NO_COLOR CI
Try it without a server:  cmdb-bulk create-inst fixtures/switches.csv --obj bk_switch --sandbox
Docs: docs/README.md`);

  /** A data command: `<file>`, the common options (and the CMDB ones), and its lazily loaded action. */
  const data = (name: string, service: 'cmdb' | 'feishu') => {
    const c = common(program.command(name).argument('<file>', 'input file, or - for stdin')).action(dataCommand(name));
    return service === 'cmdb' ? cmdbOptions(c) : c;
  };

  data('create-inst', 'cmdb')
    .description('create instances of a model (batch_create_inst, up to 200 rows a request)')
    .requiredOption('--obj <bk_obj_id>', 'model id, e.g. bk_switch')
    .option('--key <field>', 'unique field used to check which rows exist after an unclear answer (default: the model\'s first unique field)')
    .addHelpText('after', '\nExample:\n  cmdb-bulk create-inst switches.csv --obj bk_switch\n  cat switches.ndjson | cmdb-bulk create-inst - --obj bk_switch --json');

  data('update-inst', 'cmdb')
    .description('update instances of a model (batch_update_inst; rows carry bk_inst_id, or a unique field with --key)')
    .requiredOption('--obj <bk_obj_id>', 'model id, e.g. bk_switch')
    .option('--key <field>', 'name instances by this unique field instead of bk_inst_id, e.g. bk_asset_id')
    .addHelpText('after', '\nExample:\n  cmdb-bulk update-inst changes.csv --obj bk_switch\n  cmdb-bulk update-inst changes.csv --obj bk_switch --key bk_asset_id');

  data('update-process', 'cmdb')
    .description('update process instances of a business (update_process_instance, up to 100 rows a request)')
    .requiredOption('--biz <bk_biz_id>', 'business id', toInt)
    .addHelpText('after', '\nExample:\n  cmdb-bulk update-process processes.csv --biz 2');

  data('associate', 'cmdb')
    .description('create instance associations (batch_create_instance_association, up to 200 rows a request)')
    .option('--asst-id <bk_obj_asst_id>', 'association kind, e.g. bk_switch_connect_host (or a bk_obj_asst_id column in the rows)')
    .option('--obj <bk_obj_id>', 'source model (default: found from the association kind)')
    .option('--asst-obj <bk_obj_id>', 'target model (default: found from the association kind)')
    .option('--key <field>', 'name source instances by this unique field instead of bk_inst_id')
    .option('--asst-key <field>', 'name target instances by this unique field (column asst_<field>, or bk_asst_<field without bk_> such as bk_asst_host_innerip) instead of bk_asst_inst_id')
    .addHelpText('after', '\nExample:\n  cmdb-bulk associate links.csv --asst-id bk_switch_connect_host\n  cmdb-bulk associate links.csv --asst-id bk_switch_connect_host --key bk_asset_id --asst-key bk_host_innerip');

  data('delete-inst', 'cmdb')
    .description('delete instances of a model (batch_delete_inst; rows carry bk_inst_id, or a unique field with --key); shows the totals and asks first')
    .requiredOption('--obj <bk_obj_id>', 'model id, e.g. bk_switch')
    .option('--key <field>', 'name instances by this unique field instead of bk_inst_id, e.g. bk_asset_id')
    .option('--yes', 'delete without asking (required when the input is not a terminal)')
    .option('--max-delete <n>', 'delete nothing when more than n instances would go', toInt)
    .addHelpText('after', '\nExample:\n  cmdb-bulk delete-inst retire.csv --obj bk_switch --key bk_asset_id\n  cmdb-bulk delete-inst retire.csv --obj bk_switch --key bk_asset_id --yes --max-delete 50');

  const revert = cmdbOptions(common(program.command('revert').argument('<report>', 'the report of a finished update-inst, create-inst, delete-inst, sync or revert run')).action(dataCommand('revert')));
  if (wanted(revert)) {
    revert
      .description('undo a finished run from its report: updates put back (unless changed since: conflict), creates deleted, deletes created again')
      .requiredOption('--obj <bk_obj_id>', 'the model the run wrote to, e.g. bk_switch')
      .option('--yes', 'delete the instances a create made without asking (required when the input is not a terminal)')
      .addHelpText('after', '\nExample:\n  cmdb-bulk revert switches.update-inst.report.csv --obj bk_switch --dry-run\n  cmdb-bulk revert switches.create-inst.report.csv --obj bk_switch --yes');
  }

  const sync = cmdbOptions(common(program.command('sync').argument('[file]', 'input file, or - for stdin (not with --apply)')).action(dataCommand('sync')));
  if (wanted(sync)) {
    sync
      .description('make a model hold what the file says, by a unique field: creates what is missing, updates only the fields that differ, leaves equal rows alone')
      .option('--obj <bk_obj_id>', 'model id, e.g. bk_switch (required unless --apply)')
      .option('--key <field>', 'unique field that names each row\'s instance, e.g. bk_asset_id (required unless --apply)')
      .option('--plan-only', 'compute the plan and write it (--plan), send nothing')
      .option('--plan <path>', 'where the plan goes (default with --plan-only: <file>.sync.plan.ndjson next to the input)')
      .option('--apply <plan>', 'apply a plan written by --plan-only; rows whose server values changed since are failed (conflict), never overwritten')
      .option('--prune', 'also delete the model\'s instances that the file does not name (batch_delete_inst; needs --yes, or a "y" in a terminal)')
      .option('--yes', 'confirm the deletes of --prune without asking')
      .option('--max-delete <n>', 'with --prune: delete nothing when more than n instances would go', toInt)
      .addHelpText('after', '\nExample:\n  cmdb-bulk sync switches.csv --obj bk_switch --key bk_asset_id --plan-only\n  cmdb-bulk sync --apply switches.sync.plan.ndjson\n  cmdb-bulk sync switches.csv --obj bk_switch --key bk_asset_id --json');
  }

  for (const [name, desc, example] of [
    ['apaas-update', 'update Feishu aPaaS object records (records batch_update, up to 500 a request; rows carry _id, or a unique field with --key)', 'cmdb-bulk apaas-update devices.ndjson --namespace package_demo__c --object device\n  cmdb-bulk apaas-update changes.csv --namespace package_demo__c --object device --key serial_no'],
    ['apaas-create', 'create Feishu aPaaS object records (records batch_create, up to 500 a request)', 'cmdb-bulk apaas-create new.csv --namespace package_demo__c --object device --key serial'],
    ['apaas-delete', 'delete Feishu aPaaS object records (records batch_delete; rows carry _id, or a unique field with --key)', 'cmdb-bulk apaas-delete old.csv --namespace package_demo__c --object device\n  cmdb-bulk apaas-delete old.csv --namespace package_demo__c --object device --key serial_no'],
  ] as const) {
    const c = data(name, 'feishu')
      .description(desc)
      .requiredOption('--namespace <ns>', 'application namespace, e.g. package_demo__c')
      .requiredOption('--object <api_name>', 'object API name')
      .addHelpText('after', `\nExample:\n  ${example}`);
    c.option('--key <field>', name === 'apaas-create'
      ? 'field unique per record: records whose value exists are not created (looked up first), nor two rows of one value'
      : 'name records by this field, unique per record, instead of _id (looked up with batch_query)');
  }

  program
    .command('sim')
    .description('start the built-in simulator of CMDB (ESB and apigw) and Feishu aPaaS on 127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', toInt, 0)
    .option('--latency <ms>', 'added latency per request', toInt)
    .option('--error-rate <share>', 'share of requests answered 5xx (0..1)', toNumber)
    .option('--drop-rate <share>', 'share of requests whose connection is dropped (0..1)', toNumber)
    .option('--applied-504-rate <share>', 'share of writes applied, then answered 504 (0..1)', toNumber)
    .option('--seed <n>', 'seed for the faults', toInt)
    .option('--token-ttl <seconds>', 'Feishu tenant token lifetime', toInt)
    .option('--no-rate-limit', 'do not enforce the rate windows')
    .addHelpText('after', '\nExample:\n  cmdb-bulk sim --port 8080            # then paste the export lines it prints\n  cmdb-bulk sim --latency 200 --error-rate 0.05 --seed 3')
    .action(lazy(async () => (await import('./other-commands.js')).simAction));

  const config = program
    .command('config')
    .description('settings: where they come from, and whether they work')
    .addHelpText('after', '\nExample:\n  cmdb-bulk config check');
  config
    .command('check')
    .description('show the settings in effect (secrets masked) and prove the credentials with a read-only call')
    .addOption(new Option('--service <name>', 'which service to check').choices(['cmdb', 'feishu', 'all']).default('all'))
    .option('--url <url>', 'server base URL')
    .addOption(new Option('--gateway <door>', 'CMDB front door').choices(['esb', 'apigw']))
    .option('--profile <name>', 'settings profile from the config file')
    .option('--config <path>', 'config file')
    .option('--obj <bk_obj_id>', 'model to read for the CMDB check', 'host')
    .option('--sandbox', 'check against the built-in simulator')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  cmdb-bulk config check\n  cmdb-bulk config check --service cmdb --profile prod')
    .action(lazy(async () => (await import('./other-commands.js')).configCheckAction));

  program
    .command('completion')
    .description('print a shell completion script: eval "$(cmdb-bulk completion bash)"')
    .argument('<shell>', 'bash or zsh')
    .addHelpText('after', '\nExample:\n  eval "$(cmdb-bulk completion bash)"    # in ~/.bashrc\n  eval "$(cmdb-bulk completion zsh)"     # in ~/.zshrc, after compinit')
    .action(lazy(async () => (await import('./other-commands.js')).completionAction));

  return program;
}

const isMain = process.argv[1] && /cmdb-bulk(\.js)?$|cli[\\/]main\.(js|ts)$/.test(process.argv[1]);
if (isMain) {
  const program = buildProgram(commandIn(process.argv));
  // commander's own exits: help and version are 0, usage mistakes are 2 (with --json, still one JSON object).
  // Subcommands copy these settings only when created after them, so they are set on every command here.
  const onExit = (err: CommanderError): never => {
    if (err.exitCode !== 0 && process.argv.includes('--json')) {
      const command = process.argv.slice(2).find((a) => !a.startsWith('-')) ?? 'cmdb-bulk';
      process.stdout.write(JSON.stringify({ command, total: 0, ok: 0, failed: 0, invalid: 0, unsent: 0, requests: 0, retries: 0, duration_ms: 0, report: null, exit_code: EXIT.USAGE, error: err.message.replace(/^error: /, '') }) + '\n');
    }
    process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  };
  const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
  for (const c of everyCommand(program)) {
    const names: string[] = [];
    for (let x: Command | null = c; x && x !== program; x = x.parent) names.unshift(x.name());
    c.exitOverride(onExit).showHelpAfterError(`(see: ${['cmdb-bulk', ...names].join(' ')} --help)`);
  }
  program.parseAsync(process.argv).catch((e: unknown) => {
    process.stderr.write(`cmdb-bulk: ${(e as Error).message}\n`);
    process.exit(EXIT.USAGE);
  });
}
