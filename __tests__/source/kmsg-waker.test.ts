import { describe, expect, test } from '@jest/globals';
import { KmsgWaker, type WakeProcess } from '../../src/source/kmsg-waker.js';

// A helper process that is only a script: the test says when it prints and when it ends.
class FakeProcess implements WakeProcess {
  private output: (() => void) | undefined;
  private exit: (() => void) | undefined;
  killed = false;

  onOutput(fn: () => void): void {
    this.output = fn;
  }

  onExit(fn: () => void): void {
    this.exit = fn;
  }

  kill(): void {
    this.killed = true;
    this.exit?.();
  }

  print(): void {
    this.output?.();
  }

  end(): void {
    this.exit?.();
  }
}

function rig(): { waker: KmsgWaker; started: FakeProcess[]; paths: string[]; clock: { now: number } } {
  const started: FakeProcess[] = [];
  const paths: string[] = [];
  const clock = { now: 0 };
  const waker = new KmsgWaker(
    '/dev/kmsg',
    (path) => {
      paths.push(path);
      const process = new FakeProcess();
      started.push(process);
      return process;
    },
    () => clock.now,
  );
  return { waker, started, paths, clock };
}

const settledWithin = async (promise: Promise<void>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
};

describe('KmsgWaker', () => {
  test('a wait ends as soon as the helper prints, long before the poll interval', async () => {
    const { waker, started, paths } = rig();
    const waiting = waker.wait(60_000);
    expect(paths).toEqual(['/dev/kmsg']);
    started[0]!.print();
    expect(await settledWithin(waiting, 100)).toBe(true);
    waker.stop();
  });

  test('without output a wait ends after the poll interval: polling stays the guarantee', async () => {
    const { waker } = rig();
    expect(await settledWithin(waker.wait(20), 15)).toBe(false);
    waker.stop();
    expect(await settledWithin(waker.wait(20), 200)).toBe(true);
  });

  test('output that came while nobody waited ends the next wait at once, and only that one', async () => {
    const { waker, started } = rig();
    await waker.wait(0);
    started[0]!.print();
    expect(await settledWithin(waker.wait(60_000), 50)).toBe(true);
    const next = waker.wait(60_000);
    expect(await settledWithin(next, 30)).toBe(false);
    waker.stop();
    await next;
  });

  test('an abort ends the wait', async () => {
    const { waker } = rig();
    const controller = new AbortController();
    const waiting = waker.wait(60_000, controller.signal);
    controller.abort();
    expect(await settledWithin(waiting, 100)).toBe(true);
    waker.stop();
  });

  test('a helper that ended is restarted at the next wait, at most once a second', async () => {
    const { waker, started, clock } = rig();
    await waker.wait(0);
    started[0]!.end();
    clock.now = 500;
    await waker.wait(0);
    expect(started).toHaveLength(1);
    clock.now = 1500;
    await waker.wait(0);
    expect(started).toHaveLength(2);
    waker.stop();
  });

  test('stop kills the helper, ends a pending wait and starts nothing more', async () => {
    const { waker, started, clock } = rig();
    const waiting = waker.wait(60_000);
    waker.stop();
    expect(started[0]!.killed).toBe(true);
    expect(await settledWithin(waiting, 100)).toBe(true);
    clock.now = 10_000;
    await waker.wait(0);
    expect(started).toHaveLength(1);
  });

  test('a helper that cannot be started leaves the waker polling', async () => {
    const waker = new KmsgWaker('/dev/kmsg', () => {
      throw new Error('spawn ENOENT');
    });
    expect(await settledWithin(waker.wait(10), 200)).toBe(true);
    waker.stop();
  });
});
