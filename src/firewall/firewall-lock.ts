import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KnocktailError } from '../errors.js';
import { missingBinaryError } from './command-runner.js';

// One lock serialises every command that rewrites knocktail's firewall state: daemon start and
// reload, `setup`, `teardown`, `install` and `grant`/`revoke` without a daemon. Node has no
// flock(2), so a small `flock(1)` child (util-linux, argv only, no shell) takes the kernel lock
// on the file and runs `cat`, which echoes a line we send only once the lock is held and exits
// when our end of its stdin closes: the lock is released on release() and, because the kernel
// drops it with the last open descriptor, also when this process dies in any way (no stale
// lock file to detect, unlike an O_EXCL pid file whose owner may be gone or reused). The holder
// writes who it is into the file, so a waiter that times out can name it.
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
const READY = 'knocktail-lock-held\n';

/** Waits up to `timeoutMs` for the lock; FIREWALL_LOCKED names the holder when it does not come. */
export async function acquireFirewallLock(path: string, options: FirewallLockOptions): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const child = spawn('flock', ['--exclusive', '--wait', String(timeoutMs / 1000), '--conflict-exit-code', String(TIMED_OUT), path, 'cat'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    shell: false,
  });
  const exited = new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  const ready = new Promise<void>((resolve) => {
    let seen = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes(READY)) resolve();
    });
  });
  child.stdin.write(READY);
  const outcome = await Promise.race([ready.then(() => 'held' as const), exited]);
  if (outcome !== 'held') {
    if (outcome.error?.code === 'ENOENT') throw missingBinaryError('flock', outcome.error);
    if (outcome.code === TIMED_OUT) {
      const holder = (await readFile(path, 'utf8').catch(() => '')).trim();
      throw new KnocktailError(
        'FIREWALL_LOCKED',
        `Expected the firewall lock ${path} within ${timeoutMs / 1000} s for ${options.holder}, but ${holder ? `it is held by ${holder}` : 'another knocktail command holds it'}; try again when it has finished`,
      );
    }
    throw new KnocktailError('FIREWALL_LOCKED', `Expected flock to take the firewall lock ${path}, got exit ${outcome.code}: ${stderr.trim() || '(no stderr)'}`);
  }
  const now = options.now ?? Date.now;
  await writeFile(path, `${options.holder} (pid ${process.pid}) since ${new Date(now()).toISOString()}\n`).catch(() => undefined);
  let released: Promise<void> | undefined;
  return {
    release: () => {
      released ??= (async () => {
        await writeFile(path, '').catch(() => undefined);
        child.stdin.end();
        await exited;
      })();
      return released;
    },
  };
}

/** Runs `fn` while holding the firewall lock of `stateDir`. */
export async function withFirewallLock<T>(stateDir: string, options: FirewallLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireFirewallLock(firewallLockPath(stateDir), options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
