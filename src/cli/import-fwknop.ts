import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { validateConfig } from '../config/load-config.js';
import { osReason } from '../config/os-reason.js';
import { KnocktailError } from '../model/errors.js';
import { renderConfigJson } from '../import/config-json.js';
import { importFwknopAccess } from '../import/fwknop-access.js';
import type { ImportNote } from '../import/knockd-import.js';
import type { ExitCode } from './command-table.js';
import { writeLine, type CliContext } from './context.js';

// `knocktail import fwknop /etc/fwknop/access.conf -o config.json`: SPA doors, their keys
// written beside the config (mode 0600, never overwritten), checked by the config loader.
export async function importFwknop(
  ctx: CliContext,
  file: string,
  output: string | undefined,
  options: { force: boolean; acceptDropped: boolean },
  report: (notes: readonly ImportNote[]) => void,
): Promise<ExitCode> {
  if (output === undefined)
    throw new KnocktailError(
      'USAGE',
      "Expected -o FILE with import fwknop: the doors' keys are written to files beside it",
    );
  const path = resolve(ctx.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KnocktailError('CONFIG_UNREADABLE', `cannot read fwknop access.conf ${path}: ${osReason(error)}`, {
      cause: error,
    });
  }
  const dir = dirname(output);
  const result = importFwknopAccess(text);
  report(result.notes);
  if (result.doors.length === 0)
    throw new KnocktailError('CONFIG_INVALID', `${path}: no access.conf stanza could be converted (see above)`);
  const written: string[] = [];
  try {
    for (const [name, keys] of result.keys) {
      for (const [target, value] of [
        [join(dir, `${name}.key`), keys.key],
        [join(dir, `${name}-hmac.key`), keys.hmacKey],
      ] as const) {
        await writeFile(target, `${value}\n`, { flag: 'wx', mode: 0o600 });
        written.push(target);
      }
    }
    const checked = validateConfig({ doors: result.doors }, { baseDir: dir });
    if (!checked.ok)
      throw new KnocktailError('CONFIG_INVALID', 'the converted config does not pass check-config', {
        details: checked.errors,
      });
    await writeFile(output, renderConfigJson({ doors: result.doors }), {
      flag: options.force ? 'w' : 'wx',
      mode: 0o640,
    });
  } catch (error) {
    for (const target of written) await rm(target, { force: true });
    if (error instanceof KnocktailError) throw error;
    throw new KnocktailError('STATE_IO', `cannot write the converted config or its keys: ${osReason(error)}`, {
      cause: error,
    });
  }
  writeLine(
    ctx.stderr,
    `knocktail: converted ${result.doors.length} SPA door(s) (${result.doors.map((door) => door.name).join(', ')}) from ${path} to ${output}, keys in ${written.join(', ')}; check-config passes`,
  );
  // A stanza left out is a key its users lose: a script must not take that for success (as import knockd).
  const dropped = result.notes.filter((note) => note.kind === 'skipped').length;
  if (dropped === 0 || options.acceptDropped) return 0;
  writeLine(
    ctx.stderr,
    `knocktail: ${dropped} access.conf stanza${dropped === 1 ? '' : 's'} not converted (listed under "not converted"); exit status 2 (--accept-dropped makes it 0)`,
  );
  return 2;
}
