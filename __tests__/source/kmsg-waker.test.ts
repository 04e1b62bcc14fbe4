import { describe, expect, test } from '@jest/globals';
import { KmsgWaker, type WakeProcess } from '../../src/source/kmsg-waker.js';

// A helper process that is only a script: the test says when it prints and when it ends.
class FakeProcess implements WakeProcess {
  private output: ((chunk: Buffer) => void) | undefined;
  private exit: (() => void) | undefined;
  killed = false;
  paused = false;

  onOutput(fn: (chunk: Buffer) => void): void {
    this.output = fn;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  onExit(fn: () => void): void {
    this.exit = fn;
  }

  kill(): void {
    this.killed = true;
    this.exit?.();
  }

  print(text = '6,1,1,-;x\n'): void {
    this.output?.(Buffer.from(text));
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

  test("the helper's output comes out of take() as whole lines; a partial line waits for its end", () => {
    const { waker, started } = rig();
    expect(waker.take()).toEqual({ lines: [], dropped: 0 });
    started[0]!.print('4,7,1,-;knocktail: a\n 4,8,');
    started[0]!.print('1,-;knocktail: b\n');
    expect(waker.take()?.lines.map(String)).toEqual(['4,7,1,-;knocktail: a\n', ' 4,8,1,-;knocktail: b\n']);
    expect(waker.take()).toEqual({ lines: [], dropped: 0 });
    waker.stop();
  });

  test('take() is undefined while no helper runs, so the source reads the device itself', () => {
    const { waker, started, clock } = rig();
    waker.take();
    started[0]!.end();
    clock.now = 500;
    expect(waker.take()).toBeUndefined();
    clock.now = 1500;
    expect(waker.take()).toEqual({ lines: [], dropped: 0 });
    expect(started).toHaveLength(2);
    waker.stop();
  });

  test('lines a helper printed before it ended still come out, and its partial last line is not glued to the next one', () => {
    const { waker, started, clock } = rig();
    waker.take();
    started[0]!.print('4,7,1,-;knocktail: last\n4,8,1,-;knock');
    started[0]!.end();
    clock.now = 1500;
    expect(waker.take()?.lines.map(String)).toEqual(['4,7,1,-;knocktail: last\n']);
    started[1]!.print('4,9,1,-;knocktail: new\n');
    expect(waker.take()?.lines.map(String)).toEqual(['4,9,1,-;knocktail: new\n']);
    waker.stop();
  });

  test('a helper is paused while more than 256 KiB wait for the source, and resumed by take()', () => {
    const { waker, started } = rig();
    waker.take();
    const line = `4,1,1,-;${'x'.repeat(1000)}\n`;
    for (let i = 0; i < 200; i += 1) started[0]!.print(line);
    expect(started[0]!.paused).toBe(false);
    for (let i = 0; i < 100; i += 1) started[0]!.print(line);
    expect(started[0]!.paused).toBe(true);
    expect(waker.take()?.lines).toHaveLength(300);
    expect(started[0]!.paused).toBe(false);
    waker.stop();
  });

  test('an over-long line from the helper is dropped and counted', () => {
    const { waker, started } = rig();
    waker.take();
    started[0]!.print(`4,1,1,-;${'x'.repeat(10_000)}\n4,2,1,-;knocktail: ok\n`);
    const taken = waker.take();
    expect(taken?.lines.map(String)).toEqual(['4,2,1,-;knocktail: ok\n']);
    expect(taken?.dropped).toBe(1);
    waker.stop();
  });

  test('a helper that cannot be started leaves the waker polling', async () => {
    const waker = new KmsgWaker('/dev/kmsg', () => {
      throw new Error('spawn ENOENT');
    });
    expect(await settledWithin(waker.wait(10), 200)).toBe(true);
    waker.stop();
  });
});
