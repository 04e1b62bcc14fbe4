import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileTraceSink, setTraceSink, traceStage, type Stage } from '../../src/trace/stage-trace.js';

describe('stage trace', () => {
  afterEach(() => setTraceSink(undefined));

  test('marks go to the installed sink with a monotonic ns time, and nowhere without one', () => {
    const marks: [Stage, bigint][] = [];
    traceStage('read');
    setTraceSink({ mark: (stage, at) => marks.push([stage, at]) });
    const before = process.hrtime.bigint();
    traceStage('audit-call');
    traceStage('fw-ack');
    setTraceSink(undefined);
    traceStage('fw-send');
    expect(marks.map(([stage]) => stage)).toEqual(['audit-call', 'fw-ack']);
    expect(marks[0]![1] >= before && marks[1]![1] >= marks[0]![1]).toBe(true);
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
