import { chown, readFile, stat } from 'node:fs/promises';
import { KnocktailError } from '../model/errors.js';
import { hostPath } from './apply-install-plan.js';

// The unit runs as the `knocktail` system user (the .deb's postinst creates it); install
// looks its group up in the target's /etc/group and gives it the config to read.
export const SERVICE_GROUP = 'knocktail';

/** The gid of the knocktail group below `root`, or undefined when there is none. */
export async function findServiceGroup(root: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(hostPath(root, '/etc/group'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KnocktailError(
      'SOURCE_IO',
      `Could not read ${hostPath(root, '/etc/group')}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === SERVICE_GROUP && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Gives `paths` (those that exist) the group `gid`, owner kept; returns the ones it changed. */
export async function shareConfigWithGroup(paths: readonly string[], gid: number): Promise<string[]> {
  const changed: string[] = [];
  for (const path of paths) {
    const found = await stat(path).catch(() => undefined);
    if (found === undefined || found.gid === gid) continue;
    await chown(path, found.uid, gid);
    changed.push(path);
  }
  return changed;
}
