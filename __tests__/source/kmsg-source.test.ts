import { describe, expect, test, beforeEach, afterEach } from '@jest/globals';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KmsgSource, type KmsgHandle } from '../../src/source/kmsg-source.js';
import { selectRecords } from '../../src/source/kmsg-record.js';
import { MAX_LINE_BYTES } from '../../src/model/line-limit.js';
import { FORGED_KNOCK } from './support/forged-line.js';

const OLD = '6,100,1000,-;old record\n SUBSYSTEM=net\n4,101,2000,-;knocktail: IN=eth0 old\n';

// The skip of old records is done once the source counted them and had a moment to see the end.
async function afterStartSkip(source: KmsgSource, records: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (source.stats().skippedAtStart < records && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 30));
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

// The text of one iterator step, undefined once the source is done.
function chunkText(result: IteratorResult<Buffer>): string | undefined {
  return result.done ? undefined : result.value.toString();
}

// Behaves like the device: one record per read, EAGAIN when there is none, EPIPE when scripted.
class FakeDevice implements KmsgHandle {
  readonly queue: string[] = [];
  closed = false;

  read(buffer: Buffer): Promise<{ bytesRead: number }> {
    const next = this.queue.shift();
    if (next === undefined) return Promise.reject(errno('EAGAIN'));
    if (next === 'EPIPE') return Promise.reject(errno('EPIPE'));
    return Promise.resolve({ bytesRead: buffer.write(next) });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

describe('KmsgSource', () => {
  let dir: string;
  let controller: AbortController;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-kmsg-'));
    controller = new AbortController();
  });
  afterEach(() => {
    controller.abort();
    rmSync(dir, { recursive: true, force: true });
  });

  // A source woken by a helper that is fed by the test (`fed`, then `wake()`), past its start skip of one old record.
  async function helperFedSource() {
    const device = new FakeDevice();
    device.queue.push('6,1,1,-;old\n');
    const fed: Buffer[][] = [];
    let woken: (() => void) | undefined;
    const waker = {
      wait: () => new Promise<void>((resolve) => (woken = resolve)),
      take: () => ({ lines: fed.shift() ?? [], dropped: 0 }),
      stop: () => woken?.(),
    };
    const source = new KmsgSource({ open: () => Promise.resolve(device), pollIntervalMs: 60_000, waker });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    const next = iterator.next();
    await afterStartSkip(source, 1);
    return { device, fed, wake: () => woken?.(), source, iterator, next };
  }

  test('records already there at the start are skipped and later ones come as lines without dictionary lines', async () => {
    const path = join(dir, 'kmsg');
    writeFileSync(path, OLD);
    const source = new KmsgSource({ path, pollIntervalMs: 10 });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    const next = iterator.next();
    await afterStartSkip(source, 2);
    appendFileSync(
      path,
      '4,102,3000,-;knocktail: IN=eth0 SRC=203.0.113.9\n SUBSYSTEM=net\n DEVICE=n2\n4,103,3001,-;knocktail: second\n',
    );
    expect(chunkText(await next)).toBe(
      '4,102,3000,-;knocktail: IN=eth0 SRC=203.0.113.9\n4,103,3001,-;knocktail: second\n',
    );
    expect(source.stats()).toEqual({ records: 2, overwritten: 0, skippedAtStart: 2 });
    await iterator.return?.();
  });

  test('overwritten records (EPIPE) are counted and reading goes on', async () => {
    const device = new FakeDevice();
    device.queue.push('6,1,1,-;old\n');
    const source = new KmsgSource({ open: () => Promise.resolve(device), pollIntervalMs: 5 });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    const next = iterator.next();
    await afterStartSkip(source, 1);
    device.queue.push('EPIPE', '4,9,5,-;knocktail: after the gap\n');
    expect(chunkText(await next)).toBe('4,9,5,-;knocktail: after the gap\n');
    expect(source.stats()).toMatchObject({ records: 1, overwritten: 1, skippedAtStart: 1 });
    controller.abort();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(device.closed).toBe(true);
  });

  test('a record with a sequence number not above the last one seen is dropped', async () => {
    const device = new FakeDevice();
    device.queue.push('6,50,1,-;old\n');
    const source = new KmsgSource({ open: () => Promise.resolve(device), pollIntervalMs: 5 });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    const next = iterator.next();
    await afterStartSkip(source, 1);
    device.queue.push('6,50,1,-;old again\n', '6,51,2,-;new\n');
    expect(chunkText(await next)).toBe('6,51,2,-;new\n');
    await iterator.return?.();
  });

  test('a record longer than the line limit is dropped whole, also when it comes in several reads, and counted', async () => {
    const device = new FakeDevice();
    device.queue.push('6,1,1,-;old\n');
    const source = new KmsgSource({ open: () => Promise.resolve(device), pollIntervalMs: 5 });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    const first = iterator.next();
    await afterStartSkip(source, 1);
    device.queue.push(`4,2,5,-;${'A'.repeat(MAX_LINE_BYTES)}${FORGED_KNOCK}\n`, '4,3,6,-;knocktail: short\n');
    expect(chunkText(await first)).toBe('4,3,6,-;knocktail: short\n');
    expect(source.takeOversized()).toBe(1);
    device.queue.push(
      `4,4,7,-;${'A'.repeat(MAX_LINE_BYTES)}`,
      `${'B'.repeat(100)}\n${FORGED_KNOCK}`,
      `${'C'.repeat(MAX_LINE_BYTES)}\n4,5,8,-;knocktail: ok\n`,
    );
    let seen = '';
    while (!seen.includes('ok')) seen += chunkText(await iterator.next()) ?? '';
    expect(seen).toBe('4,5,8,-;knocktail: ok\n');
    expect(seen).not.toContain('SRC=203.0.113.66');
    expect(source.takeOversized()).toBe(2);
    await iterator.return?.();
  });

  test('with a waker, a new record is read as soon as it wakes the source, not a poll interval later', async () => {
    const device = new FakeDevice();
    device.queue.push('6,1,1,-;old\n');
    let wake: (() => void) | undefined;
    let stopped = false;
    const waker = {
      wait: () => new Promise<void>((resolve) => (wake = resolve)),
      take: () => undefined,
      stop: () => {
        stopped = true;
        wake?.();
      },
    };
    const source = new KmsgSource({ open: () => Promise.resolve(device), pollIntervalMs: 60_000, waker });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    const next = iterator.next();
    await afterStartSkip(source, 1);
    device.queue.push('4,2,5,-;knocktail: woken\n');
    const started = Date.now();
    wake?.();
    expect(chunkText(await next)).toBe('4,2,5,-;knocktail: woken\n');
    expect(Date.now() - started).toBeLessThan(1000);
    await iterator.return?.();
    expect(stopped).toBe(true);
  });

  test('while the helper runs, records come from its stream and the device is not read; repeats are skipped by sequence number', async () => {
    const { device, fed, wake, source, iterator, next } = await helperFedSource();
    device.queue.push('4,2,5,-;knocktail: only on the device\n');
    // A helper starts at the oldest record in the ring buffer: record 1 again, then the new one.
    fed.push([
      Buffer.from('6,1,1,-;old\n 4,1,1,-;not a record\n'),
      Buffer.from('4,2,5,-;knocktail: from the helper\n'),
    ]);
    wake();
    expect(chunkText(await next)).toBe('4,2,5,-;knocktail: from the helper\n');
    expect(device.queue).toEqual(['4,2,5,-;knocktail: only on the device\n']);
    expect(source.stats()).toMatchObject({ records: 1, overwritten: 0 });
    await iterator.return?.();
  });

  test('a hole in the sequence numbers of the helper stream counts as overwritten records', async () => {
    const { fed, wake, source, iterator, next } = await helperFedSource();
    fed.push([Buffer.from('4,5,5,-;knocktail: after a gap\n')]);
    wake();
    expect(chunkText(await next)).toBe('4,5,5,-;knocktail: after a gap\n');
    expect(source.stats()).toMatchObject({ records: 1, overwritten: 1 });
    await iterator.return?.();
  });

  test('over-long lines the helper dropped are reported through takeOversized', async () => {
    const device = new FakeDevice();
    const fed = [{ lines: [] as Buffer[], dropped: 2 }];
    const waker = { wait: () => new Promise<void>(() => undefined), take: () => fed.shift(), stop: () => undefined };
    const source = new KmsgSource({ open: () => Promise.resolve(device), pollIntervalMs: 60_000, waker });
    const iterator = source.chunks(controller.signal)[Symbol.asyncIterator]();
    expect(chunkText(await iterator.next())).toBe('');
    expect(source.takeOversized()).toBe(2);
    await iterator.return?.();
  });

  test('a device that cannot be opened is a SOURCE_IO error naming it', async () => {
    const source = new KmsgSource({ path: join(dir, 'no-such-device') });
    await expect(source.chunks()[Symbol.asyncIterator]().next()).rejects.toMatchObject({
      code: 'SOURCE_IO',
      message: expect.stringContaining('no-such-device'),
    });
  });

  test('selectRecords keeps an unterminated tail for the next read', () => {
    const { lines, lastSequence, rest } = selectRecords(Buffer.from('4,7,1,-;a\n 4,8,1,-;not a record\n4,8,2,-;b'), 0);
    expect(lines.map(String)).toEqual(['4,7,1,-;a\n']);
    expect(lastSequence).toBe(7);
    expect(rest?.toString()).toBe('4,8,2,-;b');
  });
});
