/**
 * The command-line program, built from the command manifests (src/cli/manifests/): one commander command per
 * manifest, one option per declared flag, its check in the flag. bin/cmdb-bulk.js answers --help and --version
 * from the build's record of this program (src/cli/fast-start.ts); where it cannot (a terminal of another width),
 * only this file, the manifests and commander are loaded for them. An implementation is imported when its command
 * runs. This is also the one place that turns errors into exit codes and calls process.exit.
 */
import type { CommanderError, HelpContext, OutputConfiguration } from 'commander';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EXIT } from '../core/errors.js';
import { parseValue, type AnyFlag } from './flags.js';
import { commands, groupsOfCommands, program as about } from './manifests/index.js';
import type { CommandManifest } from './manifests/manifest.js';

// commander is CommonJS: require() loads it without the ES module loader's wrapping of a CommonJS module, which cost
// ~5-10 ms of CPU at every start (decisions.md, "Fast start").
const { Argument, Command, InvalidArgumentError, Option } = createRequire(import.meta.url)('commander') as typeof import('commander');
type Command = import('commander').Command;
type Option = import('commander').Option;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The commander option for a declared flag; a value that fails the flag's check is a usage error naming it. */
export function toOption(key: string, f: AnyFlag): Option {
  const o = new Option(f.flags, f.defaultText ? `${f.help} (default: ${f.defaultText})` : f.help);
  if (o.attributeName() !== key) throw new Error(`flag ${f.flags} is declared under "${key}", commander names it "${o.attributeName()}"`);
  if (f.choices) o.choices(f.choices);
  if (f.default !== undefined) o.default(f.default);
  if (f.required) o.makeOptionMandatory();
  if (f.conflicts) o.conflicts([...f.conflicts]);
  if (f.kind === 'int' || f.kind === 'number') {
    o.argParser((raw: string) => {
      try {
        return parseValue(f, raw);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    });
  }
  return o;
}

const example = (lines: readonly string[]) => `\nExample:\n${lines.map((l) => `  ${l}`).join('\n')}`;

/**
 * A command whose options are added from its manifest only when it runs or shows its help: building the option
 * lists of every command was a sixth of `cmdb-bulk --help`'s own time.
 */
class ManifestCommand extends Command {
  manifest?: CommandManifest;
  private declared = false;

  constructor(name?: string) {
    super(name);
    // The subcommand about to run gets its options.
    this.hook('preSubcommand', (_parent, sub) => (sub as ManifestCommand).declareFlags());
  }

  override createCommand(name?: string): ManifestCommand {
    return new ManifestCommand(name);
  }

  declareFlags(): void {
    if (this.declared || !this.manifest) return;
    this.declared = true;
    const m = this.manifest;
    for (const [key, f] of Object.entries(m.own)) this.addOption(toOption(key, f));
    for (const g of m.groups) {
      for (const [key, f] of Object.entries(g.flags)) this.addOption(toOption(key, f).helpGroup(`${g.title} options:`));
    }
  }

  override helpInformation(context?: HelpContext): string {
    this.declareFlags();
    return super.helpInformation(context);
  }
}

/** Loads the command's implementation, runs it with the parsed options, exits with its code. */
function action(m: CommandManifest) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts();
    let code: number;
    try {
      const run = await m.run();
      code = await run(opts, cmd.args);
    } catch (e) {
      const { reportCrash } = await import('./errors.js');
      code = reportCrash(e, { command: m.name, json: !!opts.json, verbose: !!opts.verbose });
    }
    process.exitCode = code;
    // Let stdout/stderr drain, then leave even if a stray handle is open.
    setImmediate(() => process.exit(code));
  };
}

/** The command for `name` ('config check' → under 'config'), creating the grouping command when needed. */
function place(root: ManifestCommand, name: string): ManifestCommand {
  let at = root;
  for (const word of name.split(' ')) {
    let next = at.commands.find((c) => c.name() === word) as ManifestCommand | undefined;
    if (!next) {
      next = at.command(word) as ManifestCommand;
      const group = groupsOfCommands[word];
      if (group) next.description(group.summary).addHelpText('after', example(group.examples));
    }
    at = next;
  }
  return at;
}

/**
 * The whole program, from the manifests. `onExit` receives commander's own exits (help, version, usage errors);
 * `output` replaces where commander writes and how wide it makes help (src/cli/fast-start.ts records it).
 */
export function buildProgram(onExit?: (err: CommanderError, command: string) => never, output?: OutputConfiguration): Command {
  const root = new ManifestCommand(about.name)
    .description(about.summary)
    .version(pkg.version, '-V, --version')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    .addHelpText('after', `\n${about.notes}`) as ManifestCommand;

  for (const m of commands) {
    const cmd = place(root, m.name);
    cmd.manifest = m;
    cmd.description(m.summary).addHelpText('after', example(m.examples)).action(action(m));
    for (const a of m.args) cmd.addArgument(new Argument(a.spec, a.help));
  }

  // Subcommands copy these settings only when created after them, so they are set on every command here.
  const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
  for (const c of everyCommand(root)) {
    const names: string[] = [];
    for (let x: Command | null = c; x && x !== root; x = x.parent) names.unshift(x.name());
    const name = names.join(' ');
    c.showHelpAfterError(`(see: ${[about.name, ...names].join(' ')} --help)`);
    if (onExit) c.exitOverride((err) => onExit(err, name || about.name));
    if (output) c.configureOutput(output);
  }
  return root;
}

/** The exit code of commander's own exits: help and version are 0, usage mistakes are 2. */
export const commanderExitCode = (err: CommanderError): number => (err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);

/**
 * commander's own exits, with the code above. With --json a usage mistake is still one JSON object on stdout. The
 * error may come before commander has read --json (a bad value earlier on the line), so the words typed are looked
 * at for it.
 */
function exitForCommander(err: CommanderError, command: string): never {
  if (err.exitCode !== 0 && process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ command, total: 0, ok: 0, failed: 0, invalid: 0, unsent: 0, requests: 0, retries: 0, duration_ms: 0, report: null, exit_code: EXIT.USAGE, error: err.message.replace(/^error: /, '') }) + '\n');
  }
  process.exit(commanderExitCode(err));
}

const isMain = process.argv[1] && /cmdb-bulk(\.js)?$|cli[\\/]main\.(js|ts)$/.test(process.argv[1]);
if (isMain) {
  buildProgram(exitForCommander)
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      process.stderr.write(`cmdb-bulk: ${(e as Error).message}\n`);
      process.exit(EXIT.USAGE);
    });
}
