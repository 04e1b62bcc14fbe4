import { appendFile } from 'node:fs/promises';

// Per-stage timestamps of the knock → open path (follower wake-up, chunk read, audit call and
// write, firewall request and ack; for SPA: datagram parsed, decision made, replay journal written),
// for `npm run bench -- --only live` and `--only spa`: `knocktail run` with
// KNOCKTAIL_TRACE=FILE appends `stage ns` lines there. Off by default, and then each trace point
// is a call of NO_TRACE's empty mark(). Times are process.hrtime (CLOCK_MONOTONIC, one clock for
// every process on the host), so the bench lines them up with its own send and connect times.
// Lines are buffered and written after the path is done, never by the path being measured.
export type Stage =
  | 'wake-watch'
  | 'wake-poll'
  | 'read'
  | 'spa-read'
  | 'spa-decided'
  | 'spa-saved'
  | 'audit-call'
  | 'audit-written'
  | 'fw-send'
  | 'fw-ack';

export interface TraceSink {
  mark(stage: Stage, at: bigint): void;
}

/** Marks the stages of the knock → open path; passed in like the clock (NO_TRACE unless KNOCKTAIL_TRACE is set). */
export interface Tracer {
  mark(stage: Stage): void;
}

/** The tracer that records nothing. */
export const NO_TRACE: Tracer = { mark: () => undefined };

/** A tracer that stamps each mark with process.hrtime and hands it to `sink`. */
export function sinkTracer(sink: TraceSink): Tracer {
  return { mark: (stage) => sink.mark(stage, process.hrtime.bigint()) };
}

/** A sink that appends `stage ns` lines to `path`, flushed `delayMs` after the first unwritten mark. */
export function fileTraceSink(path: string, delayMs = 200): TraceSink {
  let lines: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): void => {
    timer = undefined;
    const text = lines.join('');
    lines = [];
    writing = writing.then(() => appendFile(path, text)).catch(() => undefined);
  };
  return {
    mark(stage, at) {
      lines.push(`${stage} ${at}\n`);
      if (timer) return;
      timer = setTimeout(flush, delayMs);
      timer.unref();
    },
  };
}
