import type { ArgumentSpec, CommandSpec, OptionSpec, ProgramSpec } from './cli-spec.js';
import { argumentKind, optionValueKind, type ValueKind } from './value-kind.js';

// The zsh completion function (#compdef): _arguments specs per command, generated from
// cli-spec, so descriptions, values and choices match the parser.
function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

// Inside an _arguments spec, brackets and colons are syntax.
function specText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/([[\]:])/g, '\\$1');
}

function action(kind: ValueKind): string {
  switch (kind.kind) {
    case 'file':
      return '_files';
    case 'directory':
      return '_files -/';
    case 'host':
      return '_hosts';
    case 'choices':
      return `(${kind.choices.join(' ')})`;
    case 'none':
      return ' ';
  }
}

function optionSpec(option: OptionSpec): string {
  const names = [option.short, option.long].filter((name): name is string => name !== undefined);
  const exclusive = names.length > 1 ? `(${names.join(' ')})` : '';
  const kind = optionValueKind(option);
  const value = kind ? `:${specText(option.value ?? 'value')}:${action(kind)}` : '';
  const body = `[${specText(option.description)}]${value}`;
  return names.length > 1
    ? `${quote(exclusive)}{${names.join(',')}}${quote(body)}`
    : quote(`${names[0] ?? option.flags}${body}`);
}

function argumentSpec(argument: ArgumentSpec, index: number): string {
  const position = argument.variadic ? '*' : String(index + 1);
  const optional = argument.required || argument.variadic ? '' : ':';
  return quote(`${position}:${optional}${specText(argument.name)}:${action(argumentKind(argument))}`);
}

function commandCase(command: CommandSpec): string {
  const specs = [...command.options.map(optionSpec), ...command.arguments.map(argumentSpec)];
  return `        ${quote(command.name)})\n          _arguments -s ${specs.join(' \\\n            ')}\n          ;;`;
}

export function renderZshCompletion(program: ProgramSpec): string {
  const fn = `_${program.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const commands = program.commands.map(
    (command) => `    ${quote(`${command.name.replace(/:/g, '\\:')}:${command.description}`)}`,
  );
  return `#compdef ${program.name}
# zsh completion for ${program.name}; generated from its command definitions by \`npm run build\`.
# Install as /usr/share/zsh/vendor-completions/_${program.name}, or: source <(${program.name} completion zsh)

${fn}() {
  local curcontext=$curcontext state line
  typeset -A opt_args
  local -a commands
  commands=(
${commands.join('\n')}
  )
  _arguments -C ${program.options.map(optionSpec).join(' ')} '1: :->command' '*:: :->args' && return
  case $state in
    command)
      _describe -t commands '${program.name} command' commands
      ;;
    args)
      case $line[1] in
${program.commands.map(commandCase).join('\n')}
      esac
      ;;
  esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${program.name}
fi
`;
}
