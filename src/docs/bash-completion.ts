import type { CommandSpec, OptionSpec, ProgramSpec } from './cli-spec.js';
import { argumentKind, optionValueKind, type ValueKind } from './value-kind.js';

// The bash completion script: commands, each command's options, option values and
// positional arguments (files, hosts, choices), all generated from cli-spec.
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function kindWord(kind: ValueKind): string {
  return kind.kind === 'choices' ? `choices:${kind.choices.join(' ')}` : kind.kind;
}

function optionNames(options: readonly OptionSpec[]): string {
  return options.flatMap((option) => [option.short, option.long].filter((name) => name !== undefined)).join(' ');
}

function valueCases(command: CommandSpec): string[] {
  return command.options.flatMap((option) => {
    const kind = optionValueKind(option);
    if (!kind) return [];
    const names = [option.short, option.long].filter((name): name is string => name !== undefined);
    return [`    ${names.map((name) => quote(`${command.name} ${name}`)).join('|')}) echo ${quote(kindWord(kind))} ;;`];
  });
}

function argumentCases(command: CommandSpec): string[] {
  return command.arguments.map((argument, index) => {
    const last = index === command.arguments.length - 1 && argument.variadic;
    const pattern = last ? `${quote(`${command.name} `)}*` : quote(`${command.name} ${index}`);
    return `    ${pattern}) echo ${quote(kindWord(argumentKind(argument)))} ;;`;
  });
}

export function renderBashCompletion(program: ProgramSpec): string {
  const name = program.name;
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return `# bash completion for ${name}; generated from its command definitions by \`npm run build\`.
# Install as /usr/share/bash-completion/completions/${name}, or: source <(${name} completion bash)

${fn}_options() {
  case $1 in
    '') echo ${quote(optionNames(program.options))} ;;
${program.commands.map((command) => `    ${quote(command.name)}) echo ${quote(optionNames(command.options))} ;;`).join('\n')}
  esac
}

# The kind of value an option takes (file, directory, host, choices:A B, none); empty for a flag.
${fn}_value() {
  case "$1 $2" in
${program.commands.flatMap(valueCases).join('\n')}
  esac
}

# The kind of the positional argument at index $2 of command $1.
${fn}_argument() {
  case "$1 $2" in
${program.commands.flatMap(argumentCases).join('\n')}
  esac
}

${fn}_offer() {
  local kind=$1 cur=$2
  case $kind in
    file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    directory) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
    host) mapfile -t COMPREPLY < <(compgen -A hostname -- "$cur") ;;
    choices:*) mapfile -t COMPREPLY < <(compgen -W "\${kind#choices:}" -- "$cur") ;;
    *) COMPREPLY=() ;;
  esac
}

${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd='' word i count=0
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ -z $cmd ]]; then
      [[ $word == -* ]] || cmd=$word
    elif [[ $word == -* ]]; then
      [[ -n $(${fn}_value "$cmd" "$word") ]] && ((i++))
    else
      ((count++))
    fi
  done
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$(${fn}_options '')" -- "$cur")
    else
      mapfile -t COMPREPLY < <(compgen -W ${quote(program.commands.map((command) => command.name).join(' '))} -- "$cur")
    fi
    return 0
  fi
  if [[ $COMP_CWORD -gt 1 && $prev == -* ]]; then
    local kind
    kind=$(${fn}_value "$cmd" "$prev")
    if [[ -n $kind ]]; then
      ${fn}_offer "$kind" "$cur"
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(${fn}_options "$cmd")" -- "$cur")
    return 0
  fi
  ${fn}_offer "$(${fn}_argument "$cmd" "$count")" "$cur"
  return 0
}

complete -F ${fn} ${name}
`;
}
