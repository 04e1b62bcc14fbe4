import type { Readable } from 'node:stream';
import type { ChunkSource } from './chunk-source.js';
import { endOfCompleteLines, terminateLine } from './line-boundary.js';

// A stream read once to its end (`audit --file -` reads standard input) as chunks of whole
// lines; the last line gets its newline when the stream ends without one.
export function readStream(stream: Readable): ChunkSource {
  return {
    async *chunks() {
      let rest: Buffer = Buffer.alloc(0);
      for await (const data of stream) {
        const bytes = rest.length === 0 ? Buffer.from(data as Buffer) : Buffer.concat([rest, data as Buffer]);
        const end = endOfCompleteLines(bytes);
        rest = bytes.subarray(end);
        if (end > 0) yield bytes.subarray(0, end);
      }
      if (rest.length > 0) yield terminateLine(rest);
    },
  };
}
