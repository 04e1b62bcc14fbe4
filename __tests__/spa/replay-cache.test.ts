import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayCache } from '../../src/spa/replay-cache.js';
import { loadReplayEntries, replaySaver } from '../../src/spa/replay-file.js';

const digest = (n: number): string => n.toString(16).padStart(64, '0');

describe('ReplayCache', () => {
  test('a digest is seen until its packet would be stale, then forgotten', () => {
    const cache = new ReplayCache();
    expect(cache.add(digest(1), 1000, 0)).toBe(true);
    expect(cache.seen(digest(1), 1000)).toBe(true);
    expect(cache.seen(digest(1), 1001)).toBe(false);
    expect(cache.snapshot(1001)).toEqual([]);
  });

  test('full of live entries it refuses more; expired ones make room', () => {
    const cache = new ReplayCache(2);
    expect(cache.add(digest(1), 100, 0)).toBe(true);
    expect(cache.add(digest(2), 200, 0)).toBe(true);
    expect(cache.add(digest(3), 300, 50)).toBe(false);
    expect(cache.add(digest(3), 300, 150)).toBe(true);
    expect(cache.size).toBe(2);
  });
});

describe('replay file', () => {
  test('what one daemon saves the next one loads; a broken file loads as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
    try {
      const path = join(dir, 'spa-replay.json');
      const cache = new ReplayCache();
      cache.add(digest(7), 5000, 0);
      const save = replaySaver(path, () => cache.snapshot(0));
      await Promise.all([save(), save(), save()]);
      expect(await loadReplayEntries(path)).toEqual([{ digest: digest(7), until: 5000 }]);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ version: 1, digests: [[digest(7), 5000]] });
      await writeFile(path, '{"digests":[["zz",1],[1,2],"x"]}');
      expect(await loadReplayEntries(path)).toEqual([]);
      expect(await loadReplayEntries(join(dir, 'missing.json'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
