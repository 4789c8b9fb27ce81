/**
 * Shell completion scripts built from the CLI's own command list, so they never drift from the program.
 * Options complete after `-`, known option values after --format / --report-format / --gateway / --empty, file names
 * everywhere else (input files, --report, --config ...).
 */

export interface CompletionSpec {
  commands: { name: string; options: string[] }[];
  globalOptions: string[];
}

const PROGRAM = 'cmdb-bulk';
const FUNC = '_cmdb_bulk';

/** Options whose values are a fixed list. */
const VALUES: Record<string, string[]> = {
  '--format': ['csv', 'json', 'ndjson', 'xlsx'],
  '--report-format': ['csv', 'json', 'ndjson'],
  '--gateway': ['esb', 'apigw'],
  '--empty': ['omit', 'null'],
};

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const OPTION = /^--?[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Names go into shell code unquoted: accept only plain words, so nothing can inject shell syntax. */
function option(o: string): string {
  const long = o.startsWith('-') ? o : `--${o}`;
  if (!OPTION.test(long)) throw new Error(`completion: not an option name: ${JSON.stringify(o)}`);
  return long;
}

function normalise(spec: CompletionSpec): { commands: { name: string; options: string[] }[]; global: string[] } {
  const commands = spec.commands.map((c) => {
    if (!NAME.test(c.name)) throw new Error(`completion: not a command name: ${JSON.stringify(c.name)}`);
    return { name: c.name, options: [...new Set(c.options.map(option))] };
  });
  return { commands, global: [...new Set(spec.globalOptions.map(option))] };
}

export function completionScript(shell: 'bash' | 'zsh', spec: CompletionSpec): string {
  const s = normalise(spec);
  return shell === 'bash' ? bash(s) : zsh(s);
}

function bash(s: ReturnType<typeof normalise>): string {
  const names = s.commands.map((c) => c.name);
  const perCommand = s.commands.map((c) => `    ${c.name}) opts="$opts ${c.options.join(' ')}" ;;`).join('\n');
  const values = Object.entries(VALUES)
    .map(([o, v]) => `    ${o}) COMPREPLY=($(compgen -W "${v.join(' ')}" -- "$cur")); return 0 ;;`)
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
  case "$prev" in
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
  const values = Object.entries(VALUES)
    .map(([o, v]) => `    ${o}) compadd -- ${v.join(' ')}; return ;;`)
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
  case \${words[CURRENT-1]} in
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
