import { spawn } from 'node:child_process';
import { closeSync, constants, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KnocktailError } from '../model/errors.js';
import { openOwnedFile } from '../fs/owned-file.js';
import { missingBinaryError } from './command-runner.js';

// One lock serialises every command that rewrites knocktail's firewall state: daemon start and
// reload, `setup`, `teardown`, `install` and `grant`/`revoke` without a daemon. Node has no
// flock(2), so we open the lock file ourselves (never through a symlink: the state directory
// belongs to the service user, and these commands run as root) and hand the descriptor to a
// `flock(1)` child (util-linux, argv only, no shell) as its fd 3: it takes the kernel lock on
// that open file and exits, and the lock stays with our descriptor. It is released on
// release() and, because the kernel drops it with the last open descriptor, also when this
// process dies in any way (no stale lock file to detect, unlike an O_EXCL pid file whose owner
// may be gone or reused). The holder writes who it is into the file, through the same
// descriptor, so a waiter that times out can name it.
export const FIREWALL_LOCK_NAME = 'firewall.lock';
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

export function firewallLockPath(stateDir: string): string {
  return join(stateDir, FIREWALL_LOCK_NAME);
}

export interface FirewallLockOptions {
  /** What takes the lock, for the holder line (e.g. "knocktail setup"). */
  readonly holder: string;
  readonly timeoutMs?: number;
  /** Clock for the holder line (default Date.now). */
  readonly now?: () => number;
}

export interface HeldLock {
  release(): Promise<void>;
}

// flock's exit status when --wait runs out (any free code; 75 is EX_TEMPFAIL).
const TIMED_OUT = 75;
/** Waits up to `timeoutMs` for the lock; FIREWALL_LOCKED names the holder when it does not come. */
export async function acquireFirewallLock(path: string, options: FirewallLockOptions): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const { fd } = openLockFile(path);
  let outcome: { code: number | null; error?: NodeJS.ErrnoException; stderr: string };
  try {
    const child = spawn(
      'flock',
      ['--exclusive', '--wait', String(timeoutMs / 1000), '--conflict-exit-code', String(TIMED_OUT), '3'],
      {
        stdio: ['ignore', 'ignore', 'pipe', fd],
        shell: false,
      },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    outcome = await new Promise((resolve) => {
      child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, error, stderr }));
      child.once('close', (code) => resolve({ code, stderr }));
    });
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (outcome.code !== 0) {
    const holder = outcome.code === TIMED_OUT ? readHolder(fd) : '';
    closeSync(fd);
    if (outcome.error?.code === 'ENOENT') throw missingBinaryError('flock', outcome.error);
    if (outcome.code === TIMED_OUT) {
      throw new KnocktailError(
        'FIREWALL_LOCKED',
        `Expected the firewall lock ${path} within ${timeoutMs / 1000} s for ${options.holder}, but ${holder ? `it is held by ${holder}` : 'another knocktail command holds it'}; try again when it has finished`,
      );
    }
    throw new KnocktailError(
      'FIREWALL_LOCKED',
      `Expected flock to take the firewall lock ${path}, got exit ${outcome.code}: ${outcome.stderr.trim() || '(no stderr)'}`,
    );
  }
  const now = options.now ?? Date.now;
  writeHolder(fd, `${options.holder} (pid ${process.pid}) since ${new Date(now()).toISOString()}\n`);
  let released: Promise<void> | undefined;
  return {
    release: () => {
      if (!released) {
        writeHolder(fd, '');
        closeSync(fd);
        released = Promise.resolve();
      }
      return released;
    },
  };
}

/** The lock file, opened read-write: created 0600 (and the service user's, when root makes it), never through a symlink. */
function openLockFile(path: string): { fd: number } {
  try {
    try {
      return openOwnedFile(path, constants.O_RDWR, 0o600);
    } catch (error) {
      // A lock file an older root command left (root:root 0644): a read-only descriptor locks as well; only the holder line is lost.
      if ((error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
      return { fd: openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW) };
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ELOOP' || code === 'EEXIST'
        ? 'it is a symlink, which knocktail never follows in a directory another user can write'
        : (error as Error).message;
    throw new KnocktailError('FIREWALL_LOCKED', `Cannot open the firewall lock ${path}: ${why}`, { cause: error });
  }
}

const MAX_HOLDER_BYTES = 512;

function readHolder(fd: number): string {
  try {
    const buffer = Buffer.alloc(MAX_HOLDER_BYTES);
    return buffer
      .subarray(0, readSync(fd, buffer, 0, MAX_HOLDER_BYTES, 0))
      .toString('utf8')
      .trim();
  } catch {
    return '';
  }
}

function writeHolder(fd: number, text: string): void {
  try {
    ftruncateSync(fd, 0);
    if (text !== '') writeSync(fd, text, 0);
  } catch {
    // The holder line is only for a waiter's message.
  }
}

/** Runs `fn` while holding the firewall lock of `stateDir`. */
export async function withFirewallLock<T>(
  stateDir: string,
  options: FirewallLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await acquireFirewallLock(firewallLockPath(stateDir), options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
