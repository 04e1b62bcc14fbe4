import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrivateDir } from '../../src/fs/private-dir.js';

describe('ensurePrivateDir (the stateDir check at start)', () => {
  let dir: string;
  const uid = process.getuid?.() ?? 0;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-statedir-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('a missing stateDir is created with mode 0700', async () => {
    const path = join(dir, 'state');
    await ensurePrivateDir(path, uid);
    expect(statSync(path).mode & 0o777).toBe(0o700);
  });

  test('a group- or world-writable stateDir is refused with its path and mode', async () => {
    const path = join(dir, 'state');
    mkdirSync(path);
    chmodSync(path, 0o777);
    await expect(ensurePrivateDir(path, uid)).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining(`stateDir ${path} to be writable by its owner only, got mode 0777`),
    });
    chmodSync(path, 0o770);
    await expect(ensurePrivateDir(path, uid)).rejects.toThrow('got mode 0770');
    chmodSync(path, 0o755);
    await expect(ensurePrivateDir(path, uid)).resolves.toBeUndefined();
  });

  test('a stateDir owned by another user is refused, naming the uid and the mode', async () => {
    const path = join(dir, 'state');
    mkdirSync(path, { mode: 0o700 });
    await expect(ensurePrivateDir(path, uid + 1)).rejects.toThrow(
      `owned by the daemon's user (uid ${uid + 1}), got uid ${uid} (mode 0700)`,
    );
  });

  test('a file where the stateDir should be is refused', async () => {
    const path = join(dir, 'state');
    writeFileSync(path, '');
    await expect(ensurePrivateDir(path, uid)).rejects.toThrow();
  });
});
