/**
 * Shell completion scripts made from the command manifests, so they offer exactly the options each command
 * declares. Options complete after `-`, the values of a choice option after it (per command), file names
 * everywhere else (input files, --report, --config ...).
 */
import { longName } from '../cli/flags.js';
import { flagsOf, type CommandManifest } from '../cli/manifests/manifest.js';

export interface CompletionSpec {
  /** `values`: the options of the command whose values are a fixed list. */
  commands: { name: string; options: string[]; values?: Record<string, readonly string[]> }[];
  globalOptions: string[];
}

const PROGRAM = 'cmdb-bulk';
const FUNC = '_cmdb_bulk';

/**
 * What to complete, from the manifests. A command under another (`config check`) is offered under the first
 * word, which is where the completion finds it.
 */
export function completionSpec(manifests: readonly CommandManifest[]): CompletionSpec {
  const byName = new Map<string, { name: string; options: string[]; values: Record<string, readonly string[]> }>();
  for (const m of manifests) {
    const name = m.name.split(' ')[0]!;
    const c = byName.get(name) ?? { name, options: [], values: {} };
    byName.set(name, c);
    for (const f of Object.values(flagsOf(m))) {
      c.options.push(longName(f));
      if (f.choices) c.values[longName(f)] = f.choices;
    }
    c.options.push('--help');
  }
  return { commands: [...byName.values()], globalOptions: ['--help', '--version'] };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const OPTION = /^--?[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Names go into shell code unquoted: accept only plain words, so nothing can inject shell syntax. */
function option(o: string): string {
  const long = o.startsWith('-') ? o : `--${o}`;
  if (!OPTION.test(long)) throw new Error(`completion: not an option name: ${JSON.stringify(o)}`);
  return long;
}

function word(w: string, what: string): string {
  if (!NAME.test(w)) throw new Error(`completion: not a ${what}: ${JSON.stringify(w)}`);
  return w;
}

function normalise(spec: CompletionSpec): { commands: { name: string; options: string[]; values: [string, string[]][] }[]; global: string[] } {
  const commands = spec.commands.map((c) => ({
    name: word(c.name, 'command name'),
    options: [...new Set(c.options.map(option))],
    values: Object.entries(c.values ?? {}).map(([o, v]): [string, string[]] => [option(o), v.map((x) => word(x, 'value'))]),
  }));
  return { commands, global: [...new Set(spec.globalOptions.map(option))] };
}

export function completionScript(shell: 'bash' | 'zsh', spec: CompletionSpec): string {
  const s = normalise(spec);
  return shell === 'bash' ? bash(s) : zsh(s);
}

function bash(s: ReturnType<typeof normalise>): string {
  const names = s.commands.map((c) => c.name);
  const perCommand = s.commands.map((c) => `    ${c.name}) opts="$opts ${c.options.join(' ')}" ;;`).join('\n');
  const values = s.commands
    .flatMap((c) => c.values.map(([o, v]) => `    "${c.name} ${o}") COMPREPLY=($(compgen -W "${v.join(' ')}" -- "$cur")); return 0 ;;`))
    .join('\n');
  return `# bash completion for ${PROGRAM}
# Load it with:  eval "$(${PROGRAM} completion bash)"   (e.g. in ~/.bashrc)
${FUNC}() {
  local cur prev cmd opts i
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${names.join('|') || '__no_commands__'}) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$cmd $prev" in
${values}
  esac
  opts="${s.global.join(' ')}"
  case "$cmd" in
${perCommand}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${names.join(' ')}" -- "$cur"))
  else
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F ${FUNC} ${PROGRAM}
`;
}

function zsh(s: ReturnType<typeof normalise>): string {
  const names = s.commands.map((c) => c.name);
  const perCommand = s.commands.map((c) => `    ${c.name}) opts+=(${c.options.join(' ')}) ;;`).join('\n');
  const values = s.commands
    .flatMap((c) => c.values.map(([o, v]) => `    "${c.name} ${o}") compadd -- ${v.join(' ')}; return ;;`))
    .join('\n');
  return `#compdef ${PROGRAM}
# zsh completion for ${PROGRAM}
# Load it with:  eval "$(${PROGRAM} completion zsh)"   (after compinit), or save it as _${PROGRAM} in a folder of your $fpath
${FUNC}() {
  local -a commands opts
  local cmd="" w
  commands=(${names.join(' ')})
  for w in \${words[2,CURRENT-1]}; do
    if (( \${commands[(Ie)$w]} )); then cmd=$w; break; fi
  done
  case "$cmd \${words[CURRENT-1]}" in
${values}
  esac
  opts=(${s.global.join(' ')})
  case $cmd in
${perCommand}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts
  elif [[ -z $cmd ]]; then
    compadd -- $commands
  else
    _files
  fi
}
# Autoloaded from $fpath (file _cmdb-bulk or _cmdb_bulk): complete now; eval'd: register.
if [[ "\${funcstack[1]}" == _cmdb[-_]bulk ]]; then
  ${FUNC} "$@"
else
  compdef ${FUNC} ${PROGRAM}
fi
`;
}
