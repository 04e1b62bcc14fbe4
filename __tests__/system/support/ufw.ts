import { chown, chmod, cp, lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecResult, Rig } from './netns.js';

// Debian's real ufw, run only inside a test namespace. ufw keeps its state in /etc/ufw,
// which belongs to the host: every ufw command runs as `ip netns exec NS unshare --mount …`
// with a private copy of /etc/ufw bind-mounted over it (and a private /run for its lock),
// so the host's files are never written. As a second line of defence the host's /etc/ufw
// is snapshotted first (content, mode, owner of every entry) and restored byte for byte
// afterwards, whatever happened.
const ETC_UFW = '/etc/ufw';

const IN_PRIVATE_ETC = String.raw`
set -e
mount --bind "$1" /etc/ufw
mount -t tmpfs tmpfs /run
shift
exec "$@"
`;

interface Entry {
  readonly kind: 'dir' | 'file';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content?: Buffer;
}

async function snapshotTree(root: string): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  const walk = async (relative: string): Promise<void> => {
    const path = join(root, relative);
    const info = await lstat(path);
    if (info.isDirectory()) {
      entries.set(relative, { kind: 'dir', mode: info.mode & 0o7777, uid: info.uid, gid: info.gid });
      for (const name of (await readdir(path)).sort()) await walk(join(relative, name));
    } else {
      entries.set(relative, {
        kind: 'file',
        mode: info.mode & 0o7777,
        uid: info.uid,
        gid: info.gid,
        content: await readFile(path),
      });
    }
  };
  await walk('.');
  return entries;
}

function sameEntry(a: Entry | undefined, b: Entry | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.kind === b.kind &&
    a.mode === b.mode &&
    a.uid === b.uid &&
    a.gid === b.gid &&
    (a.content === undefined ? b.content === undefined : b.content !== undefined && a.content.equals(b.content))
  );
}

export interface UfwSandbox {
  /** Runs `ufw ARGS` in the rig's server namespace with the private /etc/ufw. */
  ufw(args: readonly string[]): Promise<ExecResult>;
  /** ufw on, logging off (no [UFW BLOCK] lines in the shared kernel log), default deny incoming. */
  enable(): Promise<void>;
  /** Paths under /etc/ufw that differ from the snapshot (empty when the host's files are untouched). */
  hostChanges(): Promise<string[]>;
  /** Puts the host's /etc/ufw back byte for byte if anything changed, and removes the private copy. */
  restore(): Promise<void>;
}

export async function createUfwSandbox(rig: Rig): Promise<UfwSandbox> {
  const before = await snapshotTree(ETC_UFW);
  const work = await mkdtemp(join(tmpdir(), 'kt-ufw-'));
  const copy = join(work, 'ufw');
  await cp(ETC_UFW, copy, { recursive: true, preserveTimestamps: true });
  const ufw = (args: readonly string[]): Promise<ExecResult> =>
    rig.exec(
      rig.server,
      [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        IN_PRIVATE_ETC,
        'ufw-sandbox',
        copy,
        'ufw',
        ...args,
      ],
      { timeoutMs: 30_000 },
    );
  const hostChanges = async (): Promise<string[]> => {
    const now = await snapshotTree(ETC_UFW).catch(() => new Map<string, Entry>());
    return [...new Set([...before.keys(), ...now.keys()])]
      .filter((path) => !sameEntry(before.get(path), now.get(path)))
      .sort();
  };
  return {
    ufw,
    async enable() {
      for (const args of [
        ['logging', 'off'],
        ['default', 'deny', 'incoming'],
        ['--force', 'enable'],
      ]) {
        const result = await ufw(args);
        if (result.exitCode !== 0)
          throw new Error(`ufw ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}${result.stdout}`);
      }
    },
    hostChanges,
    async restore() {
      const changed = await hostChanges();
      // Extras first (deepest paths first), then every entry of the snapshot, parents before children.
      const now = await snapshotTree(ETC_UFW).catch(() => new Map<string, Entry>());
      for (const path of [...now.keys()]
        .filter((p) => !before.has(p))
        .sort()
        .reverse())
        await rm(join(ETC_UFW, path), { recursive: true, force: true });
      for (const path of changed.filter((p) => before.has(p))) {
        const entry = before.get(path)!;
        const target = join(ETC_UFW, path);
        if (entry.kind === 'file') await writeFile(target, entry.content!);
        await chmod(target, entry.mode);
        await chown(target, entry.uid, entry.gid);
      }
      await rm(work, { recursive: true, force: true });
    },
  };
}
