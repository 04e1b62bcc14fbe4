import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../../src/audit/audit-log.js';
import { fileTraceSink, NO_TRACE, sinkTracer, type Stage } from '../../src/trace/stage-trace.js';

describe('stage trace', () => {
  test('a tracer stamps its marks with a monotonic ns time for its own sink; NO_TRACE records nothing', () => {
    const marks: [Stage, bigint][] = [];
    const tracer = sinkTracer({ mark: (stage, at) => marks.push([stage, at]) });
    const before = process.hrtime.bigint();
    NO_TRACE.mark('read');
    tracer.mark('audit-call');
    tracer.mark('fw-ack');
    expect(marks.map(([stage]) => stage)).toEqual(['audit-call', 'fw-ack']);
    expect(marks[0]![1] >= before && marks[1]![1] >= marks[0]![1]).toBe(true);
  });

  test('the tracer is passed in like the clock: two audit logs in one process mark only their own tracer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knocktail-trace-'));
    try {
      const traced: Stage[] = [];
      const untraced: Stage[] = [];
      const logs = [
        createAuditLog(join(dir, 'a.log'), { tracer: sinkTracer({ mark: (stage) => traced.push(stage) }) }),
        createAuditLog(join(dir, 'b.log'), { tracer: sinkTracer({ mark: (stage) => untraced.push(stage) }) }),
        createAuditLog(join(dir, 'c.log')),
      ];
      await logs[0]!.write({
        event: 'close',
        at: '2026-12-01T09:00:00.000Z',
        door: 'ssh',
        src: '203.0.113.7',
        reason: 'revoked',
      });
      await logs[2]!.write({
        event: 'close',
        at: '2026-12-01T09:00:00.000Z',
        door: 'ssh',
        src: '203.0.113.8',
        reason: 'revoked',
      });
      for (const log of logs) await log.close();
      expect(traced).toEqual(['audit-call', 'audit-written']);
      expect(untraced).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the file sink writes `stage ns` lines only after the delay, off the path being measured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'knocktail-trace-'));
    try {
      const path = join(dir, 'trace');
      const sink = fileTraceSink(path, 30);
      sink.mark('read', 5n);
      sink.mark('fw-send', 7n);
      expect(() => readFileSync(path)).toThrow();
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(readFileSync(path, 'utf8')).toBe('read 5\nfw-send 7\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
