import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { isRecord } from '../model/is-record.js';
import type { ReplayEntry } from './replay-cache.js';

// The SPA replay cache on disk (stateDir/spa-replay.json), so a packet used before a restart
// stays used after it. Written atomically; not fsync'ed (a restart keeps it, a power cut may
// lose the last writes: packets younger than the age limit at that moment). An unreadable or
// odd file yields what it can: entries are only ever digests and times.
export async function loadReplayEntries(path: string): Promise<ReplayEntry[]> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return [];
  }
  const list = isRecord(data) && Array.isArray(data['digests']) ? (data['digests'] as unknown[]) : [];
  return list.flatMap((item): ReplayEntry[] => {
    if (!Array.isArray(item)) return [];
    const [digest, until] = item as unknown[];
    return typeof digest === 'string' &&
      /^[0-9a-f]{64}$/.test(digest) &&
      typeof until === 'number' &&
      Number.isFinite(until)
      ? [{ digest, until }]
      : [];
  });
}

/** Saves the latest snapshot; calls made while a write runs share the next write. */
export function replaySaver(path: string, snapshot: () => readonly ReplayEntry[]): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const write = (): Promise<void> =>
    writeFileAtomic(path, `${JSON.stringify({ version: 1, digests: snapshot().map((e) => [e.digest, e.until]) })}\n`, {
      mode: 0o600,
      createDirMode: 0o700,
    });
  return () => {
    if (next) return next;
    if (!running) {
      running = write().finally(() => (running = undefined));
      return running;
    }
    next = running
      .catch(() => undefined)
      .then(() => {
        next = undefined;
        running = write().finally(() => (running = undefined));
        return running;
      });
    return next;
  };
}
