import type { ChunkSource } from '../../../src/source/chunk-source.js';
import { sleep } from '../../support/helpers.js';

// Pulls every chunk of a source in the background, as the pipeline would, until stopped.
export class ChunkCollector {
  readonly chunks: Buffer[] = [];
  private readonly controller = new AbortController();
  private readonly done: Promise<void>;
  private lineCount = 0;

  constructor(source: ChunkSource) {
    this.done = (async () => {
      for await (const chunk of source.chunks(this.controller.signal)) {
        this.chunks.push(Buffer.from(chunk));
        for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) this.lineCount += 1;
      }
    })();
  }

  get lines(): number {
    return this.lineCount;
  }

  /** Wait until at least `count` lines came, or `ms` passed; true when they came. */
  async waitForLines(count: number, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.lineCount < count) {
      if (Date.now() > deadline) return false;
      await sleep(10);
    }
    return true;
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
