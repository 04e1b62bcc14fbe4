import { closeSync, constants, fchmodSync, fchownSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

// Files that root makes in a directory another user owns (the service user's state and log
// directories, when `sudo knocktail grant` runs without the daemon) are given to that user,
// so the daemon, running as it, can go on reading and appending to them. Such a directory is
// writable by that user, who can plant a symlink at any name in it: root never follows one.

export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
}

/** The owner to give a file made in `dir`: the directory's, when root makes it there and another user owns it. */
export function inheritedOwner(dir: string, euid: number | undefined = process.geteuid?.()): FileOwner | undefined {
  if (euid !== 0) return undefined;
  const info = statSync(dir, { throwIfNoEntry: false });
  return info && info.uid !== 0 ? { uid: info.uid, gid: info.gid } : undefined;
}

/**
 * Opens `path` with `flags` (O_WRONLY|O_APPEND, O_RDWR, …), creating it with exactly `mode`
 * and the directory's owner (see inheritedOwner) when it is missing: created with O_EXCL,
 * opened with O_NOFOLLOW, so a symlink at the name fails (ELOOP/EEXIST) instead of leading
 * root to another file. Returns the descriptor and whether this call created the file.
 */
export function openOwnedFile(path: string, flags: number, mode: number): { fd: number; created: boolean } {
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, flags | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
      try {
        // The mode given to open() passes through the umask; a file we create gets exactly `mode`.
        fchmodSync(fd, mode);
        const owner = inheritedOwner(dirname(path));
        if (owner) fchownSync(fd, owner.uid, owner.gid);
      } catch (error) {
        closeSync(fd);
        throw error;
      }
      return { fd, created: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    try {
      return { fd: openSync(path, flags | constants.O_NOFOLLOW), created: false };
    } catch (error) {
      // Removed between the two opens (a rotation): create it after all, once or twice.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 2) throw error;
    }
  }
}
