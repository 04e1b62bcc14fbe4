import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../../src/audit/audit-log.js';
import type { AuditRecord } from '../../src/audit/record.js';

const open: AuditRecord = {
  event: 'open',
  at: '2026-11-24T10:00:00.000Z',
  door: 'ssh',
  src: '203.0.113.9',
  ports: ['tcp:22'],
  until: '2026-11-24T11:00:00.000Z',
  by: 'knock',
};
const close: AuditRecord = {
  event: 'close',
  at: '2026-11-24T11:00:00.000Z',
  door: 'ssh',
  src: '203.0.113.9',
  reason: 'expired',
};

// One audit line as its fields, failing the test if the line is not a JSON object.
function fields(line: string): Record<string, unknown> {
  const value: unknown = JSON.parse(line);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`Expected a JSON object line, got: ${line}`);
  return value as Record<string, unknown>;
}

describe('createAuditLog', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-audit-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes each record as exactly its fields on one JSON line, event, at, door, src first', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    await sink.write(open);
    await sink.write(close);
    await sink.close();
    const text = await readFile(path, 'utf8');
    expect(text).toBe(
      '{"event":"open","at":"2026-11-24T10:00:00.000Z","door":"ssh","src":"203.0.113.9","ports":["tcp:22"],"until":"2026-11-24T11:00:00.000Z","by":"knock"}\n' +
        '{"event":"close","at":"2026-11-24T11:00:00.000Z","door":"ssh","src":"203.0.113.9","reason":"expired"}\n',
    );
  });

  test('adds the backend to every record when one is given', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path, { backend: 'nftables' });
    await sink.write(close);
    await sink.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ ...close, backend: 'nftables' });
  });

  test('creates the file 0640 and a missing directory 0750', async () => {
    const path = join(dir, 'var', 'log', 'audit.log');
    const sink = createAuditLog(path);
    await sink.write(open);
    await sink.close();
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect((await stat(join(dir, 'var', 'log'))).mode & 0o777).toBe(0o750);
  });

  test('a write has resolved only once its line is in the file', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    for (let i = 0; i < 5; i++) {
      await sink.write({ ...open, src: `198.51.100.${i}` });
      const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
      expect(lines).toHaveLength(i + 1);
      expect(fields(lines[i]!).src).toBe(`198.51.100.${i}`);
    }
    await sink.close();
  });

  test('a write is in the file before any I/O callback could run: no thread-pool round trip before the firewall change', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    await sink.write(open);
    const order: string[] = [];
    const immediate = new Promise<void>((resolve) => setImmediate(() => resolve(void order.push('setImmediate'))));
    await Promise.all([
      sink
        .write({ ...open, src: '198.51.100.77' })
        .then(() => order.push(readFileSync(path, 'utf8').includes('198.51.100.77') ? 'written' : 'missing')),
      immediate,
    ]);
    expect(order).toEqual(['written', 'setImmediate']);
    await sink.close();
  });

  test('1,000 concurrent writes give 1,000 intact lines in call order', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    const long = 'x'.repeat(3000);
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        sink.write({ event: 'reject', at: open.at, door: `d${i}`, src: '198.51.100.7', reason: long }),
      ),
    );
    await sink.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines.map((line) => fields(line).door)).toEqual(Array.from({ length: 1000 }, (_, i) => `d${i}`));
  });

  test('close waits for writes still in flight, and every one of them lands', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    const writes = Array.from({ length: 200 }, (_, i) => sink.write({ ...close, src: `198.51.100.${i % 250}` }));
    await sink.close();
    await Promise.all(writes);
    expect((await readFile(path, 'utf8')).trimEnd().split('\n')).toHaveLength(200);
  });

  test('packet-derived control characters stay inside one JSON string', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    const hostile = 'evil\n{"event":"open"}\u0000\u001b[31m';
    await sink.write({ event: 'reject', at: open.at, door: hostile, src: '198.51.100.7', reason: 'not-allowed' });
    await sink.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(fields(lines[0]!).door).toBe(hostile);
  });

  test('follows a rename rotation by reopening the path', async () => {
    const path = join(dir, 'audit.log');
    const sink = createAuditLog(path);
    await sink.write(open);
    await rename(path, `${path}.1`);
    await sink.write(close);
    await sink.close();
    expect(fields(await readFile(`${path}.1`, 'utf8')).event).toBe('open');
    expect(fields(await readFile(path, 'utf8')).event).toBe('close');
  });

  test('a write after close is refused with a coded error', async () => {
    const sink = createAuditLog(join(dir, 'audit.log'));
    await sink.close();
    await expect(sink.write(open)).rejects.toMatchObject({ code: 'SOURCE_IO' });
  });

  test('an unwritable path rejects the write instead of losing the record silently', async () => {
    const blocker = join(dir, 'plain-file');
    await writeFile(blocker, '');
    const sink = createAuditLog(join(blocker, 'audit.log'));
    await expect(sink.write(open)).rejects.toMatchObject({ code: 'SOURCE_IO' });
    await sink.close();
  });
});
