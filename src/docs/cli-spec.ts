import type { Command } from 'commander';

// What the man page and the completion scripts say about the CLI, read from commander's own
// objects (the ones that parse the command line), through commander's Help, so they list
// exactly what `--help` shows: nothing here is a second copy of the definitions.
export interface OptionSpec {
  readonly flags: string;
  readonly short?: string;
  readonly long?: string;
  readonly description: string;
  /** The value's name without brackets ("file"), when the option takes one. */
  readonly value?: string;
  readonly choices?: readonly string[];
  /** The option must be given. */
  readonly mandatory: boolean;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
  readonly variadic: boolean;
  readonly choices?: readonly string[];
}

export interface CommandSpec {
  readonly name: string;
  readonly description: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
}

export interface ProgramSpec {
  readonly name: string;
  readonly description: string;
  readonly version: string;
  readonly options: readonly OptionSpec[];
  readonly commands: readonly CommandSpec[];
}

function optionsOf(command: Command): OptionSpec[] {
  return command
    .createHelp()
    .visibleOptions(command)
    .map((option) => {
      const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.replace(/\.\.\.$/, '');
      return {
        flags: option.flags,
        ...(option.short ? { short: option.short } : {}),
        ...(option.long ? { long: option.long } : {}),
        description: option.description,
        ...(value ? { value } : {}),
        ...(option.argChoices ? { choices: [...option.argChoices] } : {}),
        mandatory: option.mandatory,
      };
    });
}

export function describeProgram(program: Command): ProgramSpec {
  const help = program.createHelp();
  return {
    name: program.name(),
    description: program.description(),
    version: program.version() ?? 'unknown',
    options: optionsOf(program),
    commands: help
      .visibleCommands(program)
      .filter((command) => command.name() !== 'help')
      .map((command) => ({
        name: command.name(),
        description: command.description(),
        arguments: command.registeredArguments.map((argument) => ({
          name: argument.name(),
          description: argument.description,
          required: argument.required,
          variadic: argument.variadic,
          ...(argument.argChoices ? { choices: [...argument.argChoices] } : {}),
        })),
        options: optionsOf(command),
      })),
  };
}
