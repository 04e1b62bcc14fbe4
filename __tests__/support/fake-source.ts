import type { ChunkSource } from '../../src/source/chunk-source.js';

// A log source for unit tests: push() hands lines to the consumer and resolves once the
// consumer asks for the next chunk, i.e. once every effect of those lines is done.
export class FakeSource implements ChunkSource {
  private queue: Buffer[] = [];
  private wake: (() => void) | undefined;
  private asked: (() => void)[] = [];

  push(lines: readonly string[]): Promise<void> {
    this.queue.push(Buffer.from(lines.map((line) => `${line}\n`).join('')));
    const done = new Promise<void>((resolve) => this.asked.push(resolve));
    this.wake?.();
    return done;
  }

  async *chunks(signal?: AbortSignal): AsyncIterable<Buffer> {
    const onAbort = (): void => this.wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        for (const resolve of this.asked.splice(0, this.asked.length - this.queue.length)) resolve();
        while (this.queue.length === 0 && !signal?.aborted) await new Promise<void>((resolve) => (this.wake = resolve));
        if (signal?.aborted) return;
        yield this.queue.shift()!;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      for (const resolve of this.asked.splice(0)) resolve();
    }
  }
}
