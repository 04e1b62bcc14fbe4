import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { KnocktailError, describeValue } from '../model/errors.js';

// Where a follower stands: which file (device + inode, as names move on rotation) and how far.
export interface Checkpoint {
  readonly device: number;
  readonly inode: number;
  readonly offset: number;
  /** Base64 of the last bytes before `offset`; tells a rewritten or reused-inode file from the one we read. */
  readonly anchor?: string;
}

/** The saved checkpoint, or undefined when there is none yet. Throws STATE_CORRUPT on garbage. */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KnocktailError(
      'SOURCE_IO',
      `Expected a readable checkpoint file at ${path}, got: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new KnocktailError(
      'STATE_CORRUPT',
      `Expected JSON {device, inode, offset} in ${path}, got ${describeValue(text)}`,
      { cause: error },
    );
  }
  if (!isCheckpoint(value)) {
    throw new KnocktailError(
      'STATE_CORRUPT',
      `Expected {device, inode, offset} as non-negative integers in ${path}, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Replace the checkpoint atomically: a reader sees the old one or the new one, never half of one. */
export async function writeCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  try {
    await writeFileAtomic(path, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600, createDirMode: 0o700 });
  } catch (error) {
    throw wrapWriteError(path, error);
  }
}

function wrapWriteError(path: string, error: unknown): KnocktailError {
  return new KnocktailError(
    'SOURCE_IO',
    `Expected to save the follower checkpoint at ${path}, got: ${(error as Error).message}`,
    { cause: error },
  );
}

function isCheckpoint(value: unknown): value is Checkpoint {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  const whole = (field: unknown): boolean => typeof field === 'number' && Number.isSafeInteger(field) && field >= 0;
  return (
    whole(record['device']) &&
    whole(record['inode']) &&
    whole(record['offset']) &&
    (record['anchor'] === undefined || typeof record['anchor'] === 'string')
  );
}
