import type { KnocktailError } from '../model/errors.js';

// What the follower tells its owner (logs, metrics, status) about the file it follows.
export type FollowerEvent =
  /** A file was opened without a checkpoint: at its start, at its end, or because it appeared. */
  | {
      readonly type: 'opened';
      readonly path: string;
      readonly inode: number;
      readonly offset: number;
      readonly reason: 'start' | 'end' | 'created';
    }
  /** Reading goes on from a checkpoint: in the same file, in the rotated file found by inode, or (the checkpointed file is gone) at the start of the current one. */
  | {
      readonly type: 'resumed';
      readonly path: string;
      readonly inode: number;
      readonly offset: number;
      readonly from: 'checkpointed-file' | 'rotated-file' | 'start-of-current';
    }
  /** The old file was drained (grace period over) and the follower moved on to the file now at the path. */
  | { readonly type: 'rotated'; readonly path: string; readonly fromInode: number; readonly toInode: number }
  /** The file shrank below the read offset or was rewritten under it (copytruncate): reading restarts at 0. */
  | { readonly type: 'truncated'; readonly path: string; readonly inode: number; readonly lostOffset: number }
  /** Nothing at the path: the follower waits for it to appear, however long that takes. */
  | { readonly type: 'missing'; readonly path: string }
  /** An I/O problem the follower survives by retrying on the next poll. */
  | { readonly type: 'error'; readonly error: KnocktailError };

export type FollowerEventType = FollowerEvent['type'];

/** Where the follower is, for status and metrics. */
export interface FollowerPosition {
  readonly path: string;
  readonly device: number;
  readonly inode: number;
  /** Bytes handed to the consumer so far in this file (always just after a '\n'). */
  readonly offset: number;
  /** Bytes in this file not handed out yet (as of the last look). */
  readonly lagBytes: number;
}
