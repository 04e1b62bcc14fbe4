import { readFile } from 'node:fs/promises';
import { KnocktailError } from '../model/errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { moveAsideCorrupt } from '../grant/state-file.js';
import { isRecord } from '../model/is-record.js';

// A member's unpublished grant changes, kept beside the state file, so that a change made while
// the member is cut off from NATS (a revoke above all) survives a restart or a crash and still
// reaches the group, and so that the member, restarted, does not take the group's older copy of
// that grant for the current one. The link verifies every envelope it loads (signature, group,
// expiry) as it would one from the bucket, so the file only has to be well-formed JSON.
export interface SavedChange {
  /** The signed envelope (a FleetEnvelope when saved; as read, until the link has verified it). */
  readonly envelope: unknown;
  /** The id of the group's change of this grant that this one replaced (the one the member had applied when it made it). */
  readonly after?: string;
}

export interface OutboxStore {
  /** The saved changes, oldest first; none when there is no file. */
  load(): Promise<readonly SavedChange[]>;
  save(changes: readonly SavedChange[]): Promise<void>;
}

interface OutboxFile {
  readonly version: 1;
  /** In publish order. */
  readonly grants: readonly SavedChange[];
}

const isSaved = (value: unknown): value is OutboxFile['grants'][number] =>
  isRecord(value) &&
  isRecord(value['envelope']) &&
  (value['after'] === undefined || typeof value['after'] === 'string');

/** The outbox in `path` (0600, written atomically and durably); an unreadable or corrupt one is moved aside and counts as empty. */
export function outboxFile(path: string, now: () => number, warn: (message: string) => void): OutboxStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new KnocktailError('STATE_IO', `Cannot read the fleet outbox ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      let grants: OutboxFile['grants'] | undefined;
      try {
        const data = JSON.parse(text) as unknown;
        if (isRecord(data) && data['version'] === 1 && Array.isArray(data['grants']) && data['grants'].every(isSaved))
          grants = data['grants'];
      } catch {
        grants = undefined;
      }
      if (grants === undefined) {
        const movedTo = await moveAsideCorrupt(path, now());
        warn(
          `fleet outbox ${path} is not an outbox file (expected {"version":1,"grants":[{"envelope":{…}},…]}); moved aside to ${movedTo || '(could not move it)'}, starting with an empty outbox`,
        );
        return [];
      }
      return grants;
    },
    async save(changes) {
      // One JSON text for the whole outbox: with thousands of changes waiting (a long partition), a write costs one stringify.
      const file: OutboxFile = { version: 1, grants: changes };
      try {
        await writeFileAtomic(path, `${JSON.stringify(file)}\n`, { mode: 0o600, durable: true, createDirMode: 0o700 });
      } catch (error) {
        throw new KnocktailError('STATE_IO', `Cannot write the fleet outbox ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
  };
}
