import { describe, expect, test, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint } from '../../src/source/checkpoint-file.js';
import { findFileByInode } from '../../src/source/rotated-file.js';

describe('checkpoint file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-checkpoint-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('a written checkpoint reads back the same, in a directory created on the way, with no temp file left', async () => {
    const path = join(dir, 'state', 'follower.json');
    await writeCheckpoint(path, { device: 2049, inode: 77, offset: 1234, anchor: 'YWJj' });
    await writeCheckpoint(path, { device: 2049, inode: 77, offset: 5678, anchor: 'ZGVm' });
    expect(await readCheckpoint(path)).toEqual({ device: 2049, inode: 77, offset: 5678, anchor: 'ZGVm' });
    expect(readdirSync(join(dir, 'state'))).toEqual(['follower.json']);
  });

  test('no checkpoint file means no checkpoint', async () => {
    expect(await readCheckpoint(join(dir, 'none.json'))).toBeUndefined();
  });

  test('a checkpoint with a negative or fractional offset is STATE_CORRUPT and says what was expected', async () => {
    const path = join(dir, 'follower.json');
    for (const offset of [-1, 1.5, '12']) {
      writeFileSync(path, JSON.stringify({ device: 1, inode: 2, offset }));
      await expect(readCheckpoint(path)).rejects.toMatchObject({
        code: 'STATE_CORRUPT',
        message: expect.stringContaining('Expected {device, inode, offset}'),
      });
    }
  });

  test('a rotated file is found by its inode under a dateext name too', async () => {
    const path = join(dir, 'knocks.log');
    writeFileSync(join(dir, 'knocks.log.1'), 'other\n');
    writeFileSync(join(dir, 'knocks.log-20261124'), 'rotated\n');
    writeFileSync(path, 'current\n');
    const { dev, ino } = statSync(join(dir, 'knocks.log-20261124'));
    expect(await findFileByInode(path, dev, ino)).toBe(join(dir, 'knocks.log-20261124'));
    expect(await findFileByInode(path, dev, ino + 1_000_000)).toBeUndefined();
  });
});
