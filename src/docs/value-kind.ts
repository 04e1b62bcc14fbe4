import type { ArgumentSpec, OptionSpec } from './cli-spec.js';

// What a shell should offer for an option value or an argument, judged from the names the
// definitions give them (`<file>`, `<dir>`, `<host>`) and their declared choices.
export type ValueKind =
  | { readonly kind: 'file' | 'directory' | 'host' | 'none' }
  | { readonly kind: 'choices'; readonly choices: readonly string[] };

function kindOfName(name: string): ValueKind {
  if (/^(file|files|path|paths)$/.test(name)) return { kind: 'file' };
  if (/^(dir|dirs|directory|root)$/.test(name)) return { kind: 'directory' };
  if (name === 'host') return { kind: 'host' };
  return { kind: 'none' };
}

export function optionValueKind(option: OptionSpec): ValueKind | undefined {
  if (option.value === undefined) return undefined;
  return option.choices ? { kind: 'choices', choices: option.choices } : kindOfName(option.value);
}

export function argumentKind(argument: ArgumentSpec): ValueKind {
  return argument.choices ? { kind: 'choices', choices: argument.choices } : kindOfName(argument.name);
}
