import { mkdir, stat } from 'node:fs/promises';
import { KnocktailError } from '../model/errors.js';

// The state directory holds the grants, the log position and the control socket: whoever can
// write it can plant a state file that reopens doors, or a symlink where one is written. So it
// must be a real directory owned by the daemon's user and writable by nobody else.

/** Create `path` (mode 0700) when missing; refuse it when it is not a directory owned by `uid` without group/other write. */
export async function ensurePrivateDir(path: string, uid: number): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  // A symlinked stateDir (to /srv, say) is the admin's choice; what counts is the directory it names.
  const found = await stat(path);
  const mode = `0${(found.mode & 0o7777).toString(8)}`;
  if (!found.isDirectory()) {
    throw new KnocktailError(
      'USAGE',
      `Expected stateDir ${path} to be a directory, got another kind of file (mode ${mode})`,
    );
  }
  if (found.uid !== uid) {
    throw new KnocktailError(
      'USAGE',
      `Expected stateDir ${path} to be owned by the daemon's user (uid ${uid}), got uid ${found.uid} (mode ${mode}); chown it or choose another stateDir`,
    );
  }
  if ((found.mode & 0o022) !== 0) {
    throw new KnocktailError(
      'USAGE',
      `Expected stateDir ${path} to be writable by its owner only, got mode ${mode}; run chmod go-w ${JSON.stringify(path)}`,
    );
  }
}
