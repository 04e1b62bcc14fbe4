import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

// Where a rotated log went: logrotate renames `knocks.log` to `knocks.log.1`, dateext to
// `knocks.log-20261124`, others elsewhere in the directory; the inode is what stays the same.
export async function findFileByInode(path: string, device: number, inode: number): Promise<string | undefined> {
  const directory = dirname(path);
  const preferred = `${basename(path)}.1`;
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return undefined;
  }
  names.sort((a, b) => rank(a, preferred) - rank(b, preferred));
  for (const name of names) {
    const candidate = join(directory, name);
    try {
      const stat = await fs.stat(candidate);
      if (stat.isFile() && stat.ino === inode && stat.dev === device) return candidate;
    } catch {
      // Gone between readdir and stat: not the one.
    }
  }
  return undefined;
}

function rank(name: string, preferred: string): number {
  if (name === preferred) return 0;
  return name.startsWith(preferred.slice(0, -2)) ? 1 : 2;
}
