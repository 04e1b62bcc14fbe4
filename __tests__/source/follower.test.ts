import { describe, expect, test, beforeEach, afterEach } from '@jest/globals';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFollower, type FollowerEvent } from '../../src/source/follower.js';
import { MAX_LINE_BYTES } from '../../src/model/line-limit.js';
import { FORGED_KNOCK, loggerLineWithForgedKnock } from './support/forged-line.js';
import { sleep } from '../support/helpers.js';

const FAST = { pollIntervalMs: 20, rotateGraceMs: 100 };

async function pull(iterator: AsyncIterator<Buffer>, ms = 2000): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no chunk within ${ms} ms`)), ms);
  });
  const result = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
  if (result.done) throw new Error('the follower ended');
  return result.value.toString();
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('FileFollower', () => {
  let dir: string;
  let path: string;
  let checkpointPath: string;
  let controller: AbortController;
  let iterators: AsyncIterator<Buffer>[];
  beforeEach(() => {
    iterators = [];
    dir = mkdtempSync(join(tmpdir(), 'knocktail-follower-'));
    path = join(dir, 'knocks.log');
    checkpointPath = join(dir, 'state', 'position.json');
    controller = new AbortController();
  });
  afterEach(async () => {
    controller.abort();
    // A follower parked at a yield only closes its file and watcher when returned.
    await Promise.all(iterators.map((iterator) => iterator.return?.() ?? Promise.resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  function follow(options: Partial<ConstructorParameters<typeof FileFollower>[0]> = {}): {
    iterator: AsyncIterator<Buffer>;
    events: FollowerEvent[];
    follower: FileFollower;
  } {
    const events: FollowerEvent[] = [];
    const follower = new FileFollower({
      path,
      checkpointPath,
      ...FAST,
      onEvent: (event) => events.push(event),
      ...options,
    });
    const iterator = follower.chunks(controller.signal)[Symbol.asyncIterator]();
    iterators.push(iterator);
    return { iterator, events, follower };
  }

  test('nothing happens before the consumer starts pulling', async () => {
    writeFileSync(path, 'old\n');
    const { events } = follow();
    await sleep(50);
    expect(events).toEqual([]);
    expect(() => readFileSync(checkpointPath)).toThrow();
  });

  test('by default only lines written after the start are read, and a line being written is read whole', async () => {
    writeFileSync(path, 'old 1\nold 2\nhalf of ');
    const { iterator, events } = follow();
    const next = pull(iterator);
    await until(() => events.length > 0);
    appendFileSync(path, 'a line\nnew\n');
    expect(await next).toBe('half of a line\nnew\n');
    expect(events[0]).toMatchObject({ type: 'opened', reason: 'end', offset: 12 });
  });

  test('startAt start reads what is already there', async () => {
    writeFileSync(path, 'old 1\nold 2\n');
    const { iterator } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('old 1\nold 2\n');
  });

  test('a partial last line is held back until its newline arrives', async () => {
    writeFileSync(path, '');
    const { iterator } = follow({ startAt: 'start' });
    const first = pull(iterator);
    await sleep(30);
    appendFileSync(path, 'one\ntw');
    expect(await first).toBe('one\n');
    const second = pull(iterator);
    await sleep(60);
    appendFileSync(path, 'o\n');
    expect(await second).toBe('two\n');
  });

  test('the checkpoint moves past a chunk only when the consumer asks for the next one', async () => {
    writeFileSync(path, 'one\ntwo\n');
    const { iterator } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('one\ntwo\n');
    const saved = (): { offset: number } => JSON.parse(readFileSync(checkpointPath, 'utf8')) as { offset: number };
    expect(saved().offset).toBe(0);
    await sleep(50);
    expect(saved().offset).toBe(0);
    void iterator.next();
    await until(() => saved().offset === 8);
  });

  test('a consumer that stops in the middle of a chunk gets that chunk again from the checkpoint', async () => {
    writeFileSync(path, 'one\n');
    const first = follow({ startAt: 'start' });
    expect(await pull(first.iterator)).toBe('one\n');
    await first.iterator.return?.();
    appendFileSync(path, 'two\n');
    const second = follow();
    expect(await pull(second.iterator)).toBe('one\ntwo\n');
    expect(second.events[0]).toMatchObject({ type: 'resumed', from: 'checkpointed-file', offset: 0 });
  });

  test('a truncated file is read again from its start', async () => {
    writeFileSync(path, 'one\ntwo\n');
    const { iterator, events } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('one\ntwo\n');
    const next = pull(iterator);
    await sleep(30);
    truncateSync(path, 0);
    await sleep(60);
    appendFileSync(path, 'three\n');
    expect(await next).toBe('three\n');
    expect(events.map((event) => event.type)).toEqual(['opened', 'truncated']);
  });

  test('a file rewritten past the old offset is noticed by its changed bytes and read from its start', async () => {
    writeFileSync(path, 'seq=1\n');
    const { iterator, events } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('seq=1\n');
    const next = pull(iterator);
    writeFileSync(path, 'seq=2\nseq=3\n');
    expect(await next).toBe('seq=2\nseq=3\n');
    expect(events.map((event) => event.type)).toContain('truncated');
  });

  test('a renamed file is drained, then the new file is read from its start', async () => {
    writeFileSync(path, '');
    const { iterator, events, follower } = follow({ startAt: 'start' });
    const first = pull(iterator);
    await sleep(30);
    appendFileSync(path, 'one\n');
    expect(await first).toBe('one\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'three\n');
    appendFileSync(`${path}.1`, 'two\n');
    expect(await pull(iterator)).toBe('two\n');
    expect(await pull(iterator)).toBe('three\n');
    expect(events.map((event) => event.type)).toEqual(['opened', 'rotated']);
    expect(follower.position()).toMatchObject({ path, offset: 6, lagBytes: 0 });
  });

  test('a last line without a newline in a rotated file is handed out with one when the grace period ends', async () => {
    writeFileSync(path, 'one\n');
    const { iterator } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('one\n');
    appendFileSync(path, 'unfinished');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'next\n');
    expect(await pull(iterator)).toBe('unfinished\n');
    expect(await pull(iterator)).toBe('next\n');
  });

  test('a deleted file is waited for and read from its start when it comes back', async () => {
    writeFileSync(path, 'one\n');
    const { iterator, events } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('one\n');
    const next = pull(iterator, 3000);
    unlinkSync(path);
    await sleep(400);
    expect(events.map((event) => event.type)).toEqual(['opened', 'missing']);
    writeFileSync(path, 'two\n');
    expect(await next).toBe('two\n');
    expect(events.map((event) => event.type)).toEqual(['opened', 'missing', 'opened']);
  });

  test('a file that does not exist yet is waited for, even in a directory that does not exist yet', async () => {
    path = join(dir, 'later', 'knocks.log');
    const { iterator, events } = follow();
    const next = pull(iterator);
    await sleep(50);
    expect(events).toEqual([{ type: 'missing', path }]);
    mkdirSync(join(dir, 'later'));
    writeFileSync(path, 'first\n');
    expect(await next).toBe('first\n');
  });

  test('a restart after the file was rotated finds the rotated file by inode and drains it first', async () => {
    writeFileSync(path, 'one\n');
    const first = follow({ startAt: 'start' });
    expect(await pull(first.iterator)).toBe('one\n');
    const done = first.iterator.next();
    await until(() => (JSON.parse(readFileSync(checkpointPath, 'utf8')) as { offset: number }).offset === 4);
    controller.abort();
    await done;
    controller = new AbortController();
    appendFileSync(path, 'two\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'three\n');
    const second = follow();
    expect(await pull(second.iterator)).toBe('two\n');
    expect(await pull(second.iterator)).toBe('three\n');
    expect(second.events.map((event) => event.type)).toEqual(['resumed', 'rotated']);
    expect(second.events[0]).toMatchObject({ from: 'rotated-file', path: `${path}.1`, offset: 4 });
  });

  test('a checkpointed file that is gone means the current file is read from its start', async () => {
    writeFileSync(path, 'current\n');
    mkdirSync(join(dir, 'state'), { recursive: true });
    writeFileSync(checkpointPath, JSON.stringify({ device: 1, inode: 1, offset: 99 }));
    const { iterator, events } = follow();
    expect(await pull(iterator)).toBe('current\n');
    expect(events[0]).toMatchObject({ type: 'resumed', from: 'start-of-current', offset: 0 });
  });

  test('a corrupt checkpoint is reported and startAt applies', async () => {
    writeFileSync(path, 'old\n');
    mkdirSync(join(dir, 'state'), { recursive: true });
    writeFileSync(checkpointPath, '{"device":');
    const { iterator, events } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('old\n');
    expect(events[0]).toMatchObject({ type: 'error', error: { code: 'STATE_CORRUPT' } });
    expect(events[1]).toMatchObject({ type: 'opened', reason: 'start' });
  });

  test('a line longer than the largest chunk but within the line limit comes whole', async () => {
    writeFileSync(path, `${'a'.repeat(40)}\nshort\n`);
    const { iterator } = follow({ startAt: 'start', maxChunkBytes: 16 });
    expect(await pull(iterator)).toBe(`${'a'.repeat(40)}\nshort\n`);
  });

  test('a logger line with a forged kernel line after the limit is dropped whole: no chunk holds the forged line, and it is counted', async () => {
    // 16 KiB chunks: the old follower cut the line there and handed out the forged knock as a line of its own.
    writeFileSync(path, `before\n${loggerLineWithForgedKnock(16 * 1024)}after\n`);
    const { iterator, follower } = follow({ startAt: 'start', maxChunkBytes: 16 * 1024 });
    let seen = '';
    let oversized = 0;
    while (!seen.includes('after\n')) {
      seen += await pull(iterator);
      oversized += follower.takeOversized();
    }
    expect(seen).toBe('before\nafter\n');
    expect(seen).not.toContain(FORGED_KNOCK);
    expect(oversized).toBe(1);
  });

  test('an over-long line still being written is skipped as it grows, and the checkpoint never lands inside it', async () => {
    writeFileSync(path, 'one\n');
    const { iterator, follower } = follow({ startAt: 'start' });
    expect(await pull(iterator)).toBe('one\n');
    appendFileSync(path, 'x'.repeat(3 * MAX_LINE_BYTES));
    await sleep(60);
    appendFileSync(path, `${'x'.repeat(MAX_LINE_BYTES)}${FORGED_KNOCK}\n`);
    const next = pull(iterator);
    await sleep(60);
    appendFileSync(path, 'two\n');
    let seen = await next;
    if (seen === '') seen = await pull(iterator);
    expect(seen).toBe('two\n');
    expect(follower.takeOversized()).toBe(1);
    await pull(iterator, 100).catch(() => undefined);
    const saved = JSON.parse(readFileSync(checkpointPath, 'utf8')) as { offset: number };
    expect(saved.offset).toBe(readFileSync(path).length);
  });

  test('a checkpoint that cannot be saved is reported once and the lines keep coming', async () => {
    writeFileSync(path, 'one\n');
    writeFileSync(join(dir, 'not-a-directory'), '');
    const { iterator, events } = follow({
      startAt: 'start',
      checkpointPath: join(dir, 'not-a-directory', 'position.json'),
    });
    expect(await pull(iterator)).toBe('one\n');
    const next = pull(iterator);
    await sleep(30);
    appendFileSync(path, 'two\n');
    expect(await next).toBe('two\n');
    const saveErrors = events.filter((event) => event.type === 'error' && event.error.message.includes('save'));
    expect(saveErrors).toHaveLength(1);
    expect(saveErrors[0]).toMatchObject({
      error: { code: 'SOURCE_IO', message: expect.stringContaining('position.json') },
    });
  });

  test('aborting the signal ends the iteration while it waits', async () => {
    writeFileSync(path, '');
    const { iterator } = follow();
    const next = iterator.next();
    await sleep(30);
    controller.abort();
    expect(await next).toEqual({ done: true, value: undefined });
  });
});
