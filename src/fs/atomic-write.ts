import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { inheritedOwner } from './owned-file.js';

export interface AtomicWriteOptions {
  /** Exact mode of the new file (set on the descriptor, so the umask does not change it). */
  readonly mode: number;
  /** fsync the file before the rename and the directory after it (state that must survive a crash). */
  readonly durable?: boolean;
  /** Create the parent directory (and its parents) with this mode when it is missing. */
  readonly createDirMode?: number;
  /** Where the temp names come from (tests plant files at a known name); default random hex. */
  readonly tempName?: (target: string) => string;
}

// O_CREAT|O_EXCL refuses any existing name, a symlink (dangling or not) included, and
// O_NOFOLLOW says so again for the last component: a name planted by someone who can
// write the directory is never opened, so its target is never written or chmod'ed.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const ATTEMPTS = 4;

/** A temp name beside `target`: hidden, unique, and never the name of anything shipped. */
export function defaultTempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}.tmp`);
}

const DEFAULT_TEMP = /^\.(.+)\.[0-9a-f]{16}\.tmp$/;

/**
 * Removes what a crash between a temp file's creation and its rename left in `dir`: the
 * default temp names (defaultTempName) of the given target names, nothing else; links are
 * removed, never followed. Only for a caller that is the sole writer of those targets (the
 * daemon at start, once it knows no other daemon runs on its state directory). Resolves to
 * the names removed.
 */
export async function removeLeftoverTemps(dir: string, targets: readonly string[]): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const target = DEFAULT_TEMP.exec(name)?.[1];
    if (target === undefined || !targets.includes(target)) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: left alone.
    }
  }
  return removed;
}

/**
 * Replace `target` with `data` atomically: a reader sees the old file or the new one, never
 * half of one. The temp file is created exclusively (a planted name is skipped, never
 * followed), renamed over the target (rename replaces a symlink at the target, it does not
 * follow it) and removed on any failure. Throws the underlying fs error; callers wrap it in
 * their own KnocktailError code.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
): Promise<void> {
  const dir = dirname(target);
  if (options.createDirMode !== undefined) await mkdir(dir, { recursive: true, mode: options.createDirMode });
  const nameFor = options.tempName ?? defaultTempName;
  const { temp, file } = await createExclusive(target, nameFor, options.mode);
  try {
    try {
      await file.writeFile(data);
      // The mode given to open() passes through the umask; the planned mode is exact.
      await file.chmod(options.mode);
      // Root writing into the service user's directory (an offline `grant`) leaves the file to that user.
      const owner = inheritedOwner(dir);
      if (owner) await file.chown(owner.uid, owner.gid);
      if (options.durable) await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  if (options.durable) await syncDirectory(dir);
}

async function createExclusive(target: string, nameFor: (target: string) => string, mode: number) {
  for (let attempt = 1; ; attempt++) {
    const temp = nameFor(target);
    try {
      return { temp, file: await open(temp, CREATE_FLAGS, mode) };
    } catch (error) {
      // Someone else's file (or a planted link) holds this name: take another one, a few times.
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'EEXIST' && code !== 'ELOOP') || attempt >= ATTEMPTS) throw error;
    }
  }
}

// The rename is durable only once the directory entry is.
async function syncDirectory(dir: string): Promise<void> {
  const directory = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
