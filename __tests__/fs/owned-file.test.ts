import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chown, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../../src/audit/audit-log.js';
import { acquireFirewallLock, firewallLockPath } from '../../src/firewall/firewall-lock.js';
import { inheritedOwner } from '../../src/fs/owned-file.js';
import { EMPTY_STATE, saveState } from '../../src/grant/state-file.js';

// `sudo knocktail grant` with the daemon stopped writes state.json, the audit log and the
// firewall lock into directories the service user owns: the files must stay that user's (or
// the daemon, running as it, cannot read them), and a symlink the user planted there must
// never lead root to another file.
const SERVICE = { uid: 65534, gid: 65534 };
const asRoot = process.geteuid?.() === 0 ? test : test.skip;

let dir: string;
let serviceDir: string;
let victim: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'knocktail-owned-'));
  serviceDir = join(dir, 'service');
  await mkdir(serviceDir, { mode: 0o700 });
  await chown(serviceDir, SERVICE.uid, SERVICE.gid);
  victim = join(dir, 'shadow');
  await writeFile(victim, 'root:secret\n', { mode: 0o600 });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const owner = async (path: string) => {
  const { uid, gid, mode } = await stat(path);
  return { uid, gid, mode: mode & 0o777 };
};

describe("files root makes in the service user's directories", () => {
  test('only root hands a file to the directory owner, and never in its own directories', () => {
    expect(inheritedOwner(dir, 1000)).toBeUndefined();
    expect(inheritedOwner('/', 0)).toBeUndefined();
  });

  asRoot(
    'state.json, the audit log and the firewall lock made by root belong to the directory owner, with their modes',
    async () => {
      await saveState(join(serviceDir, 'state.json'), EMPTY_STATE);
      const audit = createAuditLog(join(serviceDir, 'audit.log'));
      await audit.write({
        event: 'close',
        at: '2026-12-01T09:00:00.000Z',
        door: 'ssh',
        src: '203.0.113.7',
        reason: 'revoked',
      });
      await audit.close();
      const lock = await acquireFirewallLock(firewallLockPath(serviceDir), {
        holder: 'knocktail grant',
        timeoutMs: 2000,
      });
      await lock.release();
      expect(await owner(join(serviceDir, 'state.json'))).toEqual({ ...SERVICE, mode: 0o600 });
      expect(await owner(join(serviceDir, 'audit.log'))).toEqual({ ...SERVICE, mode: 0o640 });
      expect(await owner(firewallLockPath(serviceDir))).toEqual({ ...SERVICE, mode: 0o600 });
    },
  );

  asRoot(
    'a symlink planted at the audit log or the lock is never followed: the command fails and the target is untouched',
    async () => {
      await symlink(victim, join(serviceDir, 'audit.log'));
      await symlink(victim, firewallLockPath(serviceDir));
      const audit = createAuditLog(join(serviceDir, 'audit.log'));
      await expect(
        audit.write({
          event: 'close',
          at: '2026-12-01T09:00:00.000Z',
          door: 'ssh',
          src: '203.0.113.7',
          reason: 'revoked',
        }),
      ).rejects.toThrow(/ELOOP|EEXIST/);
      await audit.close().catch(() => undefined);
      await expect(
        acquireFirewallLock(firewallLockPath(serviceDir), { holder: 'knocktail grant', timeoutMs: 1000 }),
      ).rejects.toMatchObject({
        code: 'FIREWALL_LOCKED',
        message: expect.stringContaining('it is a symlink'),
      });
      expect(await readFile(victim, 'utf8')).toBe('root:secret\n');
      expect(await owner(victim)).toEqual({ uid: 0, gid: 0, mode: 0o600 });
      expect((await lstat(join(serviceDir, 'audit.log'))).isSymbolicLink()).toBe(true);
    },
  );
});
