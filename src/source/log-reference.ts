import { stat } from 'node:fs/promises';
import { readLogFiles } from './file-reader.js';

// Replay's reference time for timestamps without a year (traditional syslog): taken from the
// log itself, never from the wall clock, so a log replays the same on any day. The parser
// picks the year that puts a line at most a day after the reference, so the reference must
// bound the log from above: the newest file's mtime (when its last line was written), or the
// first timestamp with a year (RFC 3339, as rsyslog's file format writes) if that is later.
// During the replay the log clock raises it further (replay.ts).
const STAMP = /(?:^|\n)(?:<\d+>\d* ?)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d))/;
const HEAD_BYTES = 1 << 20;

/** Epoch ms to infer missing years from (see above); `undefined` when no file can be read. */
export async function findReferenceTime(paths: readonly string[]): Promise<number | undefined> {
  const candidates = [
    await firstStamp(paths),
    ...(await Promise.all(
      paths.map((path) =>
        stat(path).then(
          (s) => s.mtimeMs,
          () => undefined,
        ),
      ),
    )),
  ];
  const known = candidates.filter((value): value is number => value !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
}

async function firstStamp(paths: readonly string[]): Promise<number | undefined> {
  const abort = new AbortController();
  let read = 0;
  try {
    for await (const chunk of readLogFiles(paths, { chunkSize: 64 * 1024 }).chunks(abort.signal)) {
      const match = STAMP.exec(chunk.toString('utf8'));
      const at = match ? Date.parse(match[1]!) : NaN;
      if (!Number.isNaN(at)) return at;
      read += chunk.length;
      if (read >= HEAD_BYTES) return undefined;
    }
  } catch {
    // An unreadable file is reported by the replay itself.
  } finally {
    abort.abort();
  }
  return undefined;
}
