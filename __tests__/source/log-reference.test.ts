import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findReferenceTime } from '../../src/source/log-reference.js';

describe('findReferenceTime', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-ref-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a log without a year-bearing timestamp is referenced by its mtime, not by today', async () => {
    const path = join(dir, 'old.log');
    await writeFile(path, 'Dec 31 23:59:58 vm kernel: hello\nJan  1 00:00:02 vm kernel: new year\n');
    const mtime = new Date('2025-01-01T00:00:05Z');
    await utimes(path, mtime, mtime);
    expect(await findReferenceTime([path])).toBe(mtime.getTime());
  });

  test('the newest mtime of several files wins, and a year-bearing timestamp later than it wins over it', async () => {
    const a = join(dir, 'a.log');
    const b = join(dir, 'b.log');
    await writeFile(a, 'Nov 24 12:00:00 vm kernel: x\n');
    await writeFile(b, '2030-06-01T10:00:00.000000+00:00 vm kernel: y\n');
    await utimes(a, new Date('2026-11-24T12:00:01Z'), new Date('2026-11-24T12:00:01Z'));
    await utimes(b, new Date('2026-11-25T00:00:00Z'), new Date('2026-11-25T00:00:00Z'));
    expect(await findReferenceTime([a])).toBe(Date.parse('2026-11-24T12:00:01Z'));
    expect(await findReferenceTime([a, b])).toBe(Date.parse('2030-06-01T10:00:00Z'));
  });

  test('no readable file gives no reference', async () => {
    expect(await findReferenceTime([join(dir, 'missing.log')])).toBeUndefined();
  });
});
