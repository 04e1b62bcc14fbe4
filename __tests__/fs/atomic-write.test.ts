import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTempName, removeLeftoverTemps, writeFileAtomic } from '../../src/fs/atomic-write.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-atomic-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('the target holds the new content with the exact mode, whatever the umask, and no temp file is left', async () => {
    const target = join(dir, 'sub', 'state.json');
    const umask = process.umask(0o077);
    try {
      await writeFileAtomic(target, 'one\n', { mode: 0o644, createDirMode: 0o700 });
      await writeFileAtomic(target, 'two\n', { mode: 0o644, durable: true });
    } finally {
      process.umask(umask);
    }
    expect(readFileSync(target, 'utf8')).toBe('two\n');
    expect(statSync(target).mode & 0o7777).toBe(0o644);
    expect(readdirSync(join(dir, 'sub'))).toEqual(['state.json']);
  });

  test('removeLeftoverTemps removes the default temp files of the named targets only, and a link planted at such a name without following it', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const leftover = defaultTempName(join(dir, 'state.json'));
    writeFileSync(leftover, '{"version":1');
    const linked = defaultTempName(join(dir, 'follower.json'));
    symlinkSync(victim, linked);
    const kept = [
      'state.json',
      '.other.json.0123456789abcdef.tmp',
      '.state.json.0123.tmp',
      '.state.json.0123456789abcdef.tmp.x',
      'state.json.0123456789abcdef.tmp',
    ];
    for (const name of kept) writeFileSync(join(dir, name), 'x');
    const removed = await removeLeftoverTemps(dir, ['state.json', 'follower.json']);
    expect(removed.sort()).toEqual([leftover, linked].map((path) => path.slice(dir.length + 1)).sort());
    expect(readdirSync(dir).sort()).toEqual([...kept, 'victim'].sort());
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(await removeLeftoverTemps(join(dir, 'missing'), ['state.json'])).toEqual([]);
  });

  test('two temp names for the same target differ and are hidden files beside it', () => {
    const target = join(dir, 'knocks.prom');
    const a = defaultTempName(target);
    expect(a).not.toBe(defaultTempName(target));
    expect(a.startsWith(join(dir, '.knocks.prom.'))).toBe(true);
  });

  test('a symlink planted at the temp name is skipped, never followed: its target keeps its content and mode', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    const planted = join(dir, '.target.planted.tmp');
    symlinkSync(victim, planted);
    const names = [planted, join(dir, '.target.second.tmp')];
    await writeFileAtomic(join(dir, 'target'), 'new\n', { mode: 0o644, tempName: () => names.shift()! });
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(statSync(victim).mode & 0o7777).toBe(0o600);
    expect(lstatSync(planted).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'target'), 'utf8')).toBe('new\n');
  });

  test('when every temp name is taken the write fails with EEXIST and the target is untouched', async () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'old\n');
    const planted = join(dir, '.target.fixed.tmp');
    symlinkSync(join(dir, 'victim'), planted);
    await expect(writeFileAtomic(target, 'new\n', { mode: 0o644, tempName: () => planted })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    expect(() => lstatSync(join(dir, 'victim'))).toThrow();
  });

  test('a symlink at the target itself is replaced by the file, not written through', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const target = join(dir, 'target');
    symlinkSync(victim, target);
    await writeFileAtomic(target, 'new\n', { mode: 0o600 });
    expect(lstatSync(target).isFile()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  test('a failed rename removes the temp file', async () => {
    const target = join(dir, 'is-a-dir');
    // rename() of a file over a non-empty directory fails.
    mkdirSync(join(target, 'child'), { recursive: true });
    await expect(writeFileAtomic(target, 'x', { mode: 0o600 })).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['is-a-dir']);
  });
});
