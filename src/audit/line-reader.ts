import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { KnocktailError } from '../errors.js';
import type { ChunkSource } from '../source/chunk-source.js';

// Reads files one after another (`.gz` decompressed on the fly) as Buffers of whole
// lines, in constant memory: only the unfinished tail of the last block is carried over.
// A last line without '\n' is completed with one so no record is lost.
export function readLineFiles(paths: readonly string[]): ChunkSource {
  return {
    async *chunks(signal?: AbortSignal): AsyncIterable<Buffer> {
      for (const path of paths) {
        if (signal?.aborted) return;
        yield* readOne(path, signal);
      }
    },
  };
}

async function* readOne(path: string, signal: AbortSignal | undefined): AsyncIterable<Buffer> {
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const stream: Readable = path.endsWith('.gz') ? file.pipe(createGunzip({ chunkSize: 1 << 18 })) : file;
  if (stream !== file) file.on('error', (error) => stream.destroy(error));
  let carry: Buffer | undefined;
  try {
    for await (const block of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) return;
      const last = block.lastIndexOf(10);
      if (last === -1) {
        carry = carry ? Buffer.concat([carry, block]) : block;
        continue;
      }
      const head = block.subarray(0, last + 1);
      yield carry ? Buffer.concat([carry, head]) : head;
      carry = last + 1 < block.length ? block.subarray(last + 1) : undefined;
    }
  } catch (error) {
    throw new KnocktailError('SOURCE_IO', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    stream.destroy();
    file.destroy();
  }
  if (carry && carry.length > 0) yield Buffer.concat([carry, Buffer.from('\n')]);
}
