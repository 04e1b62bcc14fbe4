import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayCache } from '../../src/spa/replay-cache.js';
import { ReplayJournal } from '../../src/spa/replay-file.js';

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

describe('replay journal', () => {
  async function inDir(body: (path: string) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
    try {
      await body(join(dir, 'state', 'spa-replay.journal'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  test('what one daemon appends the next one loads, in order; lines a crash tore are skipped', async () => {
    await inDir(async (path) => {
      const cache = new ReplayCache();
      const journal = await ReplayJournal.open(path, { entries: () => cache.snapshot(0), count: () => cache.size });
      await Promise.all([1, 2, 3].map((n) => journal.append({ digest: digest(n), until: n * 1000 })));
      await journal.close();
      expect(await ReplayJournal.load(path)).toEqual([1, 2, 3].map((n) => ({ digest: digest(n), until: n * 1000 })));
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      await writeFile(path, `${digest(4)} 4000\n${digest(5).slice(0, 30)}\nzz 1\n${digest(6)}`);
      expect(await ReplayJournal.load(path)).toEqual([{ digest: digest(4), until: 4000 }]);
      expect(await ReplayJournal.load(join(path, '..', 'missing'))).toEqual([]);
    });
  });

  test('opening rewrites it with the live entries only; so does a journal grown far past them', async () => {
    await inDir(async (path) => {
      const cache = new ReplayCache();
      cache.add(digest(1), 5000, 0);
      const journal = await ReplayJournal.open(path, { entries: () => cache.snapshot(0), count: () => cache.size });
      expect(await readFile(path, 'utf8')).toBe(`${digest(1)} 5000\n`);
      // 5,000 appends of entries that are not live (a cache that keeps none): the journal is compacted.
      for (let n = 0; n < 5000; n++) await journal.append({ digest: digest(n + 10), until: 1 });
      const lines = (await readFile(path, 'utf8')).split('\n').length - 1;
      expect(lines).toBeLessThan(5000);
      expect(await ReplayJournal.load(path)).toContainEqual({ digest: digest(1), until: 5000 });
      // An append made while a rewrite runs lands in the new file, not in the one it replaces.
      const rewrite = journal.compact();
      const appended = journal.append({ digest: digest(3), until: 7000 });
      await Promise.all([rewrite, appended]);
      expect(await ReplayJournal.load(path)).toContainEqual({ digest: digest(3), until: 7000 });
      await journal.close();
      await expect(journal.append({ digest: digest(2), until: 1 })).rejects.toThrow(/closed/);
    });
  });
});
