import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// The audit log and its rotated siblings, oldest first, the live file last:
// logrotate's dateext names (audit.log-20261124[.gz]) by date, then numbered ones
// (audit.log.2.gz before audit.log.1), then audit.log itself.
const NUMBERED = /^\.(\d+)(\.gz)?$/;
const DATED = /^-(\d{8,14})(\.gz)?$/;

export async function listAuditFiles(path: string): Promise<string[]> {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const numbered: [number, string][] = [];
  const dated: [string, string][] = [];
  let live = false;
  for (const name of names) {
    if (name === base) {
      live = true;
      continue;
    }
    if (!name.startsWith(base)) continue;
    const rest = name.slice(base.length);
    const number = NUMBERED.exec(rest);
    if (number) numbered.push([Number(number[1]), name]);
    const date = DATED.exec(rest);
    if (date) dated.push([date[1]!, name]);
  }
  dated.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  numbered.sort((a, b) => b[0] - a[0]);
  const ordered = [...dated.map(([, name]) => name), ...numbered.map(([, name]) => name)];
  if (live) ordered.push(base);
  return ordered.map((name) => join(dir, name));
}
