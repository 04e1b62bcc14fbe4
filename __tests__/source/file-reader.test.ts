import { describe, expect, test, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { KnocktailError } from '../../src/model/errors.js';
import { readLogFiles } from '../../src/source/file-reader.js';
import type { ChunkSource } from '../../src/source/chunk-source.js';

async function collect(source: ChunkSource): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source.chunks()) chunks.push(Buffer.from(chunk));
  return chunks;
}

function numbered(count: number, from = 0): string {
  let text = '';
  for (let i = from; i < from + count; i += 1) text += `line ${i} ${'y'.repeat(i % 37)}\n`;
  return text;
}

describe('readLogFiles', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'knocktail-reader-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('every chunk ends with a newline and together they are the file, whatever the chunk size', async () => {
    const path = join(dir, 'knocks.log');
    const text = numbered(500);
    writeFileSync(path, text);
    for (const chunkSize of [64, 100, 4096, 1 << 20]) {
      const chunks = await collect(readLogFiles([path], { chunkSize }));
      expect(chunks.every((chunk) => chunk[chunk.length - 1] === 0x0a)).toBe(true);
      expect(Buffer.concat(chunks).toString()).toBe(text);
    }
  });

  test('with reuseBuffers, each chunk is right until the next one is asked for, and together they are the file', async () => {
    const path = join(dir, 'knocks.log');
    const text = numbered(3000);
    writeFileSync(path, `${text}tail`);
    for (const chunkSize of [64, 1000, 4096]) {
      const seen: string[] = [];
      const views: Buffer[] = [];
      for await (const chunk of readLogFiles([path], { chunkSize, reuseBuffers: true }).chunks()) {
        expect(chunk[chunk.length - 1]).toBe(0x0a);
        seen.push(chunk.toString());
        views.push(chunk);
      }
      expect(seen.join('')).toBe(`${text}tail\n`);
      // The memory is read into again: old views show newer bytes (what the option promises, and saves).
      expect(views.map((view) => view.toString()).join('')).not.toBe(seen.join(''));
    }
  });

  test('a last line without a newline at the end of a file gets one', async () => {
    const path = join(dir, 'knocks.log');
    writeFileSync(path, 'first\nsecond');
    const chunks = await collect(readLogFiles([path], { chunkSize: 64 }));
    expect(Buffer.concat(chunks).toString()).toBe('first\nsecond\n');
  });

  test('gzip files are detected by their magic bytes, not by their name', async () => {
    const text = numbered(2000);
    writeFileSync(join(dir, 'knocks.log.2'), gzipSync(text));
    writeFileSync(join(dir, 'plain.gz'), 'not compressed\n');
    const chunks = await collect(readLogFiles([join(dir, 'knocks.log.2'), join(dir, 'plain.gz')], { chunkSize: 512 }));
    expect(chunks.every((chunk) => chunk[chunk.length - 1] === 0x0a)).toBe(true);
    expect(Buffer.concat(chunks).toString()).toBe(`${text}not compressed\n`);
  });

  test('concatenated gzip members are all read', async () => {
    const path = join(dir, 'knocks.log.gz');
    writeFileSync(path, Buffer.concat([gzipSync(numbered(10)), gzipSync(numbered(10, 10))]));
    const chunks = await collect(readLogFiles([path]));
    expect(Buffer.concat(chunks).toString()).toBe(numbered(20));
  });

  test('files are read in the order given and progress reaches the total size on disk', async () => {
    const older = join(dir, 'knocks.log.1.gz');
    const newer = join(dir, 'knocks.log');
    const compressed = gzipSync(numbered(300));
    writeFileSync(older, compressed);
    writeFileSync(newer, numbered(300, 300));
    const progress: Array<[number, number]> = [];
    const chunks = await collect(
      readLogFiles([older, newer], { chunkSize: 256, onProgress: (read, total) => progress.push([read, total]) }),
    );
    expect(Buffer.concat(chunks).toString()).toBe(numbered(600));
    const total = compressed.length + Buffer.byteLength(numbered(300, 300));
    expect(progress.at(-1)).toEqual([total, total]);
    expect(progress.every(([read], i) => i === 0 || read >= (progress[i - 1] as [number, number])[0])).toBe(true);
  });

  test('a line longer than the chunk size comes whole', async () => {
    const path = join(dir, 'knocks.log');
    const long = `${'z'.repeat(1000)}\n`;
    writeFileSync(path, `a\n${long}b\n`);
    const chunks = await collect(readLogFiles([path], { chunkSize: 64 }));
    const lines = Buffer.concat(chunks).toString().split('\n');
    expect(lines).toEqual(['a', 'z'.repeat(1000), 'b', '']);
  });

  test('a missing file is a SOURCE_IO error that names it', async () => {
    const path = join(dir, 'nope.log');
    await expect(collect(readLogFiles([path]))).rejects.toThrow(KnocktailError);
    await expect(collect(readLogFiles([path]))).rejects.toMatchObject({
      code: 'SOURCE_IO',
      message: expect.stringContaining(path),
    });
  });

  test('a corrupt gzip file is a SOURCE_IO error', async () => {
    const path = join(dir, 'broken.gz');
    writeFileSync(path, gzipSync(numbered(100)).subarray(0, 40));
    await expect(collect(readLogFiles([path]))).rejects.toMatchObject({ code: 'SOURCE_IO' });
  });

  test('an aborted signal stops the reading', async () => {
    const path = join(dir, 'knocks.log');
    writeFileSync(path, numbered(1000));
    const controller = new AbortController();
    const chunks: Buffer[] = [];
    for await (const chunk of readLogFiles([path], { chunkSize: 64 }).chunks(controller.signal)) {
      chunks.push(chunk);
      controller.abort();
    }
    expect(chunks).toHaveLength(1);
  });
});
