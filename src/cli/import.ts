import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { validateConfig } from '../config/load-config.js';
import { osReason } from '../config/os-reason.js';
import { KnocktailError } from '../model/errors.js';
import { importKnockdConfig, oneTimeFilesOf, type ImportNote, type OneTimeFile } from '../import/knockd-import.js';
import { renderConfigJson } from '../import/config-json.js';
import { parseKnockdConfig } from '../import/knockd-config.js';
import { writeLine, type CliContext } from './context.js';
import type { CommandAction, ExitCode } from './command-table.js';

interface ImportFlags {
  output?: string;
  config?: string;
  force?: boolean;
  acceptDropped?: boolean;
}

const HEADINGS: Record<ImportNote['kind'], string> = {
  skipped: 'not converted',
  changed: 'converted with a difference',
  kept: 'kept as narrow as in knockd',
  ignored: 'ignored',
};

async function readOneTimeFiles(paths: readonly string[], baseDir: string): Promise<Map<string, OneTimeFile>> {
  const files = new Map<string, OneTimeFile>();
  for (const path of paths) {
    try {
      files.set(path, { ok: true, text: await readFile(resolve(baseDir, path), 'utf8') });
    } catch (error) {
      files.set(path, { ok: false, reason: osReason(error) });
    }
  }
  return files;
}

function reportNotes(ctx: CliContext, notes: readonly ImportNote[]): void {
  for (const kind of ['skipped', 'changed', 'kept', 'ignored'] as const) {
    const some = notes.filter((note) => note.kind === kind);
    if (some.length === 0) continue;
    writeLine(ctx.stderr, `${HEADINGS[kind]}:`);
    for (const note of some) writeLine(ctx.stderr, `  ${note.where}: ${note.message}`);
  }
}

// `knocktail import knockd FILE`: the knockd config as a knocktail one, checked by the
// config loader itself; what could not be carried over goes to stderr, with why.
export async function importConfig(ctx: CliContext, file: string, flags: ImportFlags): Promise<ExitCode> {
  const path = resolve(ctx.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KnocktailError('CONFIG_UNREADABLE', `cannot read knockd config ${path}: ${osReason(error)}`, {
      cause: error,
    });
  }
  const knockd = parseKnockdConfig(text);
  const result = importKnockdConfig(knockd, await readOneTimeFiles(oneTimeFilesOf(knockd), dirname(path)));
  reportNotes(ctx, result.notes);
  const doors = result.config.doors;
  if (doors.length === 0)
    throw new KnocktailError('CONFIG_INVALID', `${path}: no knockd door could be converted (see above)`);
  const output = flags.output === undefined ? undefined : resolve(ctx.cwd, flags.output);
  const checked = validateConfig(result.config, { baseDir: dirname(output ?? path) });
  if (!checked.ok)
    throw new KnocktailError('CONFIG_INVALID', 'the converted config does not pass check-config', {
      details: checked.errors,
    });
  const json = renderConfigJson(result.config);
  if (output === undefined) ctx.stdout.write(json);
  else {
    try {
      await writeFile(output, json, { flag: flags.force ? 'w' : 'wx', mode: 0o640 });
    } catch (error) {
      const hint = (error as NodeJS.ErrnoException).code === 'EEXIST' ? '; use --force to overwrite' : '';
      throw new KnocktailError('STATE_IO', `cannot write ${output}: ${osReason(error)}${hint}`, { cause: error });
    }
  }
  const names = doors.map((door) => door.name).join(', ');
  writeLine(
    ctx.stderr,
    `knocktail: converted ${doors.length} door${doors.length === 1 ? '' : 's'} (${names}) from ${path}${output ? ` to ${output}` : ''}; check-config passes`,
  );
  if (flags.config !== undefined && output === undefined)
    writeLine(
      ctx.stderr,
      'knocktail: -c names the config a command reads; import reads none and printed the result: write it with -o FILE',
    );
  // A door left out is a door the knockers lose: a script must not take that for success.
  const dropped = result.notes.filter((note) => note.kind === 'skipped').length;
  if (dropped === 0 || flags.acceptDropped) return 0;
  writeLine(
    ctx.stderr,
    `knocktail: ${dropped} knockd door${dropped === 1 ? '' : 's'} or part${dropped === 1 ? '' : 's'} not converted (listed under "not converted"); exit status 2 (--accept-dropped makes it 0)`,
  );
  return 2;
}

export const importCommand: CommandAction<[string, string], ImportFlags> = async (ctx, [format, file], flags) => {
  if (format !== 'fwknop' && format !== 'fwknoprc') return importConfig(ctx, file, flags);
  const { importFwknop } = await import('./import-fwknop.js');
  const output = flags.output === undefined ? undefined : resolve(ctx.cwd, flags.output);
  return importFwknop(
    ctx,
    file,
    output,
    { force: flags.force === true, acceptDropped: flags.acceptDropped === true, format },
    (notes) => reportNotes(ctx, notes),
  );
};
