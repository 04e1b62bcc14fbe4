import type { Stats } from 'node:fs';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KnocktailError } from '../model/errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import type { InstallPlan, PlannedDir, PlannedEntry, PlannedFile } from './install-plan.js';

// Carries out an install plan below `root` ("/" on a real machine, a staging tree in tests).
// Every entry is compared with what is there first, so a second run changes nothing, and a
// dry run reports what a real one would do without writing.

export type EntryOutcome = 'created' | 'updated' | 'unchanged' | 'kept';

export interface AppliedEntry {
  readonly entry: PlannedEntry;
  readonly outcome: EntryOutcome;
}

export interface ApplyOptions {
  readonly root: string;
  readonly dryRun: boolean;
}

/** The host path of a system path when installing below `root`. */
export function hostPath(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

export async function applyInstallPlan(plan: InstallPlan, options: ApplyOptions): Promise<AppliedEntry[]> {
  const applied: AppliedEntry[] = [];
  for (const entry of plan.entries) {
    const target = hostPath(options.root, entry.path);
    const outcome =
      entry.kind === 'dir'
        ? await applyDir(entry, target, options.dryRun)
        : await applyFile(entry, target, options.dryRun);
    applied.push({ entry, outcome });
  }
  return applied;
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KnocktailError('SOURCE_IO', `Could not inspect ${path}: ${(error as Error).message}`, { cause: error });
  }
}

// An existing directory is left as it is: it may be shared (/var/log) or the admin's choice.
async function applyDir(entry: PlannedDir, target: string, dryRun: boolean): Promise<EntryOutcome> {
  const found = await statOrUndefined(target);
  if (found) {
    if (!found.isDirectory())
      throw new KnocktailError(
        'USAGE',
        `Expected ${target} (${entry.purpose}) to be a directory, found another kind of file`,
      );
    return 'unchanged';
  }
  if (!dryRun) {
    await mkdir(target, { recursive: true, mode: 0o755 });
    // mkdir's mode passes through the umask; the planned mode is exact.
    await chmod(target, entry.mode);
  }
  return 'created';
}

async function applyFile(entry: PlannedFile, target: string, dryRun: boolean): Promise<EntryOutcome> {
  const found = await statOrUndefined(target);
  if (found && !found.isFile())
    throw new KnocktailError(
      'USAGE',
      `Expected ${target} (${entry.purpose}) to be a regular file, found another kind of file`,
    );
  if (found && entry.keepExisting) return 'kept';
  if (found) {
    const sameContent = (await readFile(target, 'utf8')) === entry.content;
    const sameMode = (found.mode & 0o7777) === entry.mode;
    if (sameContent && sameMode) return 'unchanged';
    if (!dryRun) {
      if (sameContent) await chmod(target, entry.mode);
      else await replaceFile(target, entry);
    }
    return 'updated';
  }
  if (!dryRun) {
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    await replaceFile(target, entry);
  }
  return 'created';
}

// Written beside the target under a unique, exclusively created name and renamed over it,
// so rsyslog or systemd never read half a file and a name planted in the directory is never followed.
async function replaceFile(target: string, entry: PlannedFile): Promise<void> {
  try {
    await writeFileAtomic(target, entry.content, { mode: entry.mode, durable: true });
  } catch (error) {
    throw new KnocktailError('SOURCE_IO', `Could not write ${target} (${entry.purpose}): ${(error as Error).message}`, {
      cause: error,
    });
  }
}
