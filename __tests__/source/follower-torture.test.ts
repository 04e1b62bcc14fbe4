import { describe, expect, test, beforeEach, afterEach, jest } from '@jest/globals';
import { copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFollower, type FileFollowerOptions, type FollowerEvent } from '../../src/source/follower.js';
import { ChunkCollector } from './support/chunk-collector.js';
import { LineWriter, tallyLines } from './support/line-writer.js';
import { sleep } from '../support/helpers.js';

// Real files, a real writer on timers, real rotations; every line carries a sequence number
// and must arrive exactly once and whole. Each case is bounded by the waits below.
jest.setTimeout(20_000);

const OPTIONS = { pollIntervalMs: 50, rotateGraceMs: 600 };

describe('FileFollower under rotation torture', () => {
  let dir: string;
  let path: string;
  let writer: LineWriter;
  let collectors: ChunkCollector[];
  let events: FollowerEvent[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-torture-'));
    path = join(dir, 'knocks.log');
    writer = new LineWriter(path);
    writer.reopen();
    collectors = [];
    events = [];
  });
  afterEach(async () => {
    writer.close();
    await Promise.all(collectors.map((collector) => collector.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  function start(options: Partial<FileFollowerOptions> = {}): ChunkCollector {
    const follower = new FileFollower({
      path,
      startAt: 'start',
      checkpointPath: join(dir, 'position.json'),
      ...OPTIONS,
      onEvent: (event) => events.push(event),
      ...options,
    });
    const collector = new ChunkCollector(follower);
    collectors.push(collector);
    return collector;
  }

  async function expectEveryLineOnce(collected: readonly ChunkCollector[], ms: number): Promise<void> {
    const total = (): number => collected.reduce((sum, collector) => sum + collector.lines, 0);
    const deadline = Date.now() + ms;
    while (total() < writer.written && Date.now() < deadline) await sleep(20);
    const tally = tallyLines(
      collected.flatMap((collector) => collector.chunks),
      writer.written,
    );
    expect({
      lost: tally.lost.length,
      duplicated: tally.duplicated,
      broken: tally.broken.length,
      chunksWithoutNewline: tally.chunksWithoutNewline,
    }).toEqual({
      lost: 0,
      duplicated: 0,
      broken: 0,
      chunksWithoutNewline: 0,
    });
  }

  test('200,000 lines written flat out all arrive once and whole', async () => {
    const collector = start();
    for (let batch = 0; batch < 200; batch += 1) {
      writer.write(1000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expectEveryLineOnce([collector], 15_000);
  });

  test('rename rotation, immediate reopen, twice', async () => {
    const collector = start();
    await writer.pace(2000, 200);
    renameSync(path, `${path}.1`);
    writer.reopen();
    await writer.pace(2000, 200);
    renameSync(`${path}.1`, `${path}.2`);
    renameSync(path, `${path}.1`);
    writer.reopen();
    await writer.pace(2000, 200);
    await expectEveryLineOnce([collector], 5000);
    expect(events.filter((event) => event.type === 'rotated')).toHaveLength(2);
  });

  test('rename rotation while the writer goes on appending to the old file for a while (rsyslog until HUP)', async () => {
    const collector = start();
    await writer.pace(2000, 200);
    renameSync(path, `${path}.1`);
    await writer.pace(1500, 350);
    writer.reopen();
    await writer.pace(2000, 200);
    await expectEveryLineOnce([collector], 5000);
    expect(events.map((event) => event.type)).toEqual(['opened', 'rotated']);
  });

  test('delete, then recreate 3 s later', async () => {
    const collector = start();
    await writer.pace(2000, 200);
    unlinkSync(path);
    await writer.pace(500, 200);
    await sleep(2800);
    writer.reopen();
    await writer.pace(2000, 200);
    await expectEveryLineOnce([collector], 5000);
    expect(events.map((event) => event.type)).toEqual(['opened', 'missing', 'opened']);
  });

  // copytruncate copies the file aside, then truncates it in place while the writer keeps its
  // descriptor. Lines written after the follower's last read and before the truncate are in
  // the copy only (and lines written between the copy and the truncate are in neither file):
  // no follower of the live file can guarantee those. Everything else must arrive once, whole.
  test('copytruncate after the follower caught up loses nothing', async () => {
    const collector = start();
    await writer.pace(2000, 200);
    expect(await collector.waitForLines(writer.written, 3000)).toBe(true);
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    await writer.pace(2000, 200);
    await expectEveryLineOnce([collector], 5000);
    expect(events.map((event) => event.type)).toEqual(['opened', 'truncated']);
  });

  test('copytruncate right after a burst loses at most that burst, and never breaks or repeats a line', async () => {
    const collector = start();
    await writer.pace(2000, 200);
    expect(await collector.waitForLines(writer.written, 3000)).toBe(true);
    const burstStart = writer.written;
    writer.write(500);
    const burstEnd = writer.written;
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    await writer.pace(3000, 300);
    const deadline = Date.now() + 5000;
    while (collector.lines < writer.written - (burstEnd - burstStart) && Date.now() < deadline) await sleep(20);
    await sleep(200);
    const tally = tallyLines(collector.chunks, writer.written);
    expect(tally.duplicated).toBe(0);
    expect(tally.broken).toEqual([]);
    expect(tally.lost.every((seq) => seq >= burstStart && seq < burstEnd)).toBe(true);
  });

  test('a follower stopped mid-stream and restarted from its checkpoint, with a rotation while it was down', async () => {
    const first = start();
    const writing = writer.pace(9000, 1500);
    expect(await first.waitForLines(3000, 5000)).toBe(true);
    await first.stop();
    await sleep(100);
    renameSync(path, `${path}.1`);
    writer.reopen();
    await sleep(100);
    const second = start({ startAt: 'end' });
    await writing;
    await expectEveryLineOnce([first, second], 5000);
    expect(events.filter((event) => event.type === 'resumed')).toMatchObject([
      { from: 'rotated-file', path: `${path}.1` },
    ]);
  });
});
