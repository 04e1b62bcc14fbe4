import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { validateClientProfiles } from '../client/client-profiles.js';
import { validateConfig } from '../config/load-config.js';
import { osReason } from '../config/os-reason.js';
import { KnocktailError } from '../model/errors.js';
import { renderConfigJson } from '../import/config-json.js';
import { importFwknopAccess } from '../import/fwknop-access.js';
import { importFwknoprc } from '../import/fwknoprc.js';
import type { ImportNote } from '../import/knockd-import.js';
import type { ExitCode } from './command-table.js';
import { writeLine, type CliContext } from './context.js';

// `knocktail import fwknop /etc/fwknop/access.conf -o config.json` (SPA doors) and
// `knocktail import fwknoprc ~/.fwknoprc -o client.json` (SPA client profiles): the keys are
// written beside the output (mode 0600, never overwritten), the result checked by its own loader.
/** What an importer made: the names of the doors or profiles, the file's content, the keys, the notes. */
interface Converted {
  readonly names: readonly string[];
  readonly json: string;
  /** Key file base name ("spa" → spa.key, spa-hmac.key) → the two base64 keys. */
  readonly keys: ReadonlyMap<string, { readonly key: string; readonly hmacKey: string }>;
  readonly notes: readonly ImportNote[];
  /** The problems of the result, its key files read beside it in `dir`. */
  readonly check: (dir: string) => readonly string[];
}

interface Format {
  /** "fwknop access.conf". */
  readonly input: string;
  /** "access.conf stanza". */
  readonly stanza: string;
  /** "SPA door(s)". */
  readonly made: string;
  /** "the doors' keys". */
  readonly keysOf: string;
  /** "check-config passes". */
  readonly passes: string;
  /** "the converted config does not pass check-config". */
  readonly fails: string;
  readonly mode: number;
  readonly convert: (text: string) => Converted;
}

const errorsOf = (result: { ok: true } | { ok: false; errors: string[] }): string[] => (result.ok ? [] : result.errors);

const FORMATS: Record<'fwknop' | 'fwknoprc', Format> = {
  fwknop: {
    input: 'fwknop access.conf',
    stanza: 'access.conf stanza',
    made: 'SPA door(s)',
    keysOf: "the doors' keys",
    passes: 'check-config passes',
    fails: 'the converted config does not pass check-config',
    mode: 0o640,
    convert: (text) => {
      const { doors, keys, notes } = importFwknopAccess(text);
      return {
        names: doors.map((door) => door.name),
        json: renderConfigJson({ doors }),
        keys,
        notes,
        check: (dir) => errorsOf(validateConfig({ doors }, { baseDir: dir })),
      };
    },
  },
  fwknoprc: {
    input: 'fwknop client file',
    stanza: '~/.fwknoprc stanza',
    made: 'SPA client profile(s)',
    keysOf: "the profiles' keys",
    passes: 'the profiles load',
    fails: 'the converted profiles do not load',
    // It says where and how to knock: for its owner only, as ~/.fwknoprc.
    mode: 0o600,
    convert: (text) => {
      const { profiles, keys, notes } = importFwknoprc(text);
      return {
        names: Object.keys(profiles),
        json: `${JSON.stringify({ profiles }, null, 2)}\n`,
        keys,
        notes,
        check: (dir) => errorsOf(validateClientProfiles({ profiles }, { baseDir: dir })),
      };
    },
  },
};

export async function importFwknop(
  ctx: CliContext,
  file: string,
  output: string | undefined,
  options: { force: boolean; acceptDropped: boolean; format: 'fwknop' | 'fwknoprc' },
  report: (notes: readonly ImportNote[]) => void,
): Promise<ExitCode> {
  const format = FORMATS[options.format];
  if (output === undefined)
    throw new KnocktailError(
      'USAGE',
      `Expected -o FILE with import ${options.format}: ${format.keysOf} are written to files beside it`,
    );
  const path = resolve(ctx.cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KnocktailError('CONFIG_UNREADABLE', `cannot read ${format.input} ${path}: ${osReason(error)}`, {
      cause: error,
    });
  }
  const dir = dirname(output);
  const result = format.convert(text);
  report(result.notes);
  if (result.names.length === 0)
    throw new KnocktailError('CONFIG_INVALID', `${path}: no ${format.stanza} could be converted (see above)`);
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
    const problems = result.check(dir);
    if (problems.length > 0) throw new KnocktailError('CONFIG_INVALID', format.fails, { details: problems });
    await writeFile(output, result.json, { flag: options.force ? 'w' : 'wx', mode: format.mode });
  } catch (error) {
    for (const target of written) await rm(target, { force: true });
    if (error instanceof KnocktailError) throw error;
    throw new KnocktailError('STATE_IO', `cannot write the converted file or its keys: ${osReason(error)}`, {
      cause: error,
    });
  }
  writeLine(
    ctx.stderr,
    `knocktail: converted ${result.names.length} ${format.made} (${result.names.join(', ')}) from ${path} to ${output}, keys in ${written.join(', ')}; ${format.passes}`,
  );
  // A stanza left out is a key its users lose: a script must not take that for success (as import knockd).
  const dropped = result.notes.filter((note) => note.kind === 'skipped').length;
  if (dropped === 0 || options.acceptDropped) return 0;
  writeLine(
    ctx.stderr,
    `knocktail: ${dropped} ${format.stanza}${dropped === 1 ? '' : 's'} not converted (listed under "not converted"); exit status 2 (--accept-dropped makes it 0)`,
  );
  return 2;
}
