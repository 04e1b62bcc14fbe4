import { createReadStream, promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { KnocktailError } from '../model/errors.js';
import type { ChunkSource } from './chunk-source.js';
import { LineLimiter } from './line-limit.js';

export interface ReadLogFilesOptions {
  /** Bytes per read (default 1 MiB); chunks are at most about this size. */
  chunkSize?: number;
  /** Called after every read with the on-disk (compressed) bytes read so far and the total of all files. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Called with each chunk before it is handed on, the file it comes from and the over-long lines dropped while cutting it (replay --verbose locates lines with it). */
  onChunk?: (path: string, chunk: Buffer, droppedLines: number) => void;
  /** Plain files: a chunk is valid only until the next one is asked for (its memory is read into again), for consumers done with it by then, like the pipeline. */
  reuseBuffers?: boolean;
}

const DEFAULT_CHUNK_SIZE = 1 << 20;

// Replay input: plain and gzip'd log files read in the given order, in constant memory.
export function readLogFiles(paths: readonly string[], options: ReadLogFilesOptions = {}): ChunkSource {
  const chunkSize = Math.max(64, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const limiter = new LineLimiter();
  return {
    takeOversized: () => limiter.takeDropped(),
    async *chunks(signal?: AbortSignal): AsyncIterable<Buffer> {
      const totalBytes = await sumSizes(paths);
      let bytesRead = 0;
      const count = (data: Buffer): void => {
        bytesRead += data.length;
        options.onProgress?.(bytesRead, totalBytes);
      };
      for (const path of paths) {
        if (signal?.aborted) return;
        let gzip = false;
        const streams: Readable[] = [];
        try {
          gzip = await isGzip(path);
          let pieces: AsyncIterable<Buffer>;
          if (gzip) {
            const raw = createReadStream(path, { highWaterMark: chunkSize });
            streams.push(raw);
            const gunzip = createGunzip({ chunkSize });
            streams.push(gunzip);
            raw.on('data', (data: Buffer | string) => count(Buffer.isBuffer(data) ? data : Buffer.from(data)));
            // pipe() does not forward errors: a read error must still end the gunzip stream.
            raw.on('error', (error) => gunzip.destroy(error));
            pieces = raw.pipe(gunzip);
          } else {
            pieces = counted(readPlain(path, chunkSize, options.reuseBuffers === true), count);
          }
          for await (const chunk of splitLines(pieces, limiter, signal)) {
            options.onChunk?.(path, chunk, limiter.pendingDropped);
            yield chunk;
          }
        } catch (error) {
          if (error instanceof KnocktailError) throw error;
          const kind = gzip ? 'gzip' : 'plain';
          throw new KnocktailError(
            'SOURCE_IO',
            `Expected a readable ${kind} log file at ${path}, got: ${(error as Error).message}`,
            { cause: error },
          );
        } finally {
          for (const stream of streams) stream.destroy();
        }
      }
    },
  };
}

// A plain file in pieces of `size` bytes, the next piece read while the last one is worked
// on (the machine's other core does the I/O). With `reuse`, two buffers take turns: a piece
// is overwritten only after its consumer has asked for the next one, and no garbage is made.
async function* readPlain(path: string, size: number, reuse: boolean): AsyncGenerator<Buffer> {
  const handle = await fs.open(path, 'r');
  const buffers = reuse ? [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] : [];
  let turn = 0;
  const next = (): Promise<Buffer> => {
    const buffer = reuse ? buffers[turn++ % 2]! : Buffer.allocUnsafe(size);
    return handle.read(buffer, 0, size, null).then(({ bytesRead }) => buffer.subarray(0, bytesRead));
  };
  let pending: Promise<Buffer> | undefined;
  try {
    pending = next();
    for (;;) {
      const piece = await pending;
      pending = undefined;
      if (piece.length === 0) return;
      pending = next();
      yield piece;
    }
  } finally {
    // An abandoned read-ahead still has to finish before the handle closes.
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

async function* counted(stream: AsyncIterable<Buffer>, count: (data: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const piece of stream) {
    count(piece);
    yield piece;
  }
}

// Re-cut a byte stream into chunks that end on '\n', over-long lines dropped whole (the
// limiter copies only the tail of a piece, never the piece), and a last line without '\n'
// at the end of the file gets one.
async function* splitLines(
  pieces: AsyncIterable<Buffer>,
  limiter: LineLimiter,
  signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    if (signal?.aborted) return;
    // The line a piece finishes and the rest come apart: the piece is never copied.
    for (const lines of limiter.pushParts(piece)) yield lines;
  }
  const last = limiter.end();
  if (signal?.aborted) return;
  // A dropped last line is reported with an empty chunk of its own.
  if (last) yield last;
  else if (limiter.pendingDropped > 0) yield Buffer.alloc(0);
}

async function sumSizes(paths: readonly string[]): Promise<number> {
  let total = 0;
  for (const path of paths) {
    try {
      total += (await fs.stat(path)).size;
    } catch (error) {
      throw new KnocktailError(
        'SOURCE_IO',
        `Expected a readable log file at ${path}, got: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return total;
}

// Detected by magic bytes: the name lies often enough (a compressed `.1`, a `.gz` that is not).
async function isGzip(path: string): Promise<boolean> {
  const handle = await fs.open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
