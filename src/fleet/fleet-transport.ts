// What the fleet link needs from NATS, small enough to fake in tests: a key-value bucket
// (current grants and member heartbeats, ordered by revision) and an audit stream.
export interface FleetEntry {
  readonly key: string;
  readonly value: Uint8Array;
  /** The bucket's sequence number for this write: later writes have higher revisions. */
  readonly revision: number;
  /** When the server stored it, epoch ms on the server's clock. */
  readonly created: number;
  readonly operation: 'PUT' | 'DEL' | 'PURGE';
}

/** A write seen live: its revision and storage time when the transport knows them (a bucket read), not for a live notification. */
export interface FleetUpdate {
  readonly key: string;
  readonly value: Uint8Array;
  readonly revision?: number;
  readonly created?: number;
}

export type FleetConnectionEvent = 'disconnect' | 'reconnect';

export interface FleetTransport {
  /**
   * Store `value` under `key`; resolves with the revision once the cluster has it. With
   * `expectedRevision`, stored only while the key's latest revision is that one (0: none),
   * else rejected: a compare-and-set.
   */
  put(key: string, value: Uint8Array, expectedRevision?: number): Promise<number>;
  get(key: string): Promise<FleetEntry | undefined>;
  /** The current entry of every key starting with `prefix`. */
  entries(prefix: string): Promise<FleetEntry[]>;
  /**
   * Every later write of keys under `prefix` while connected, until the returned stop is
   * called. Writes made while disconnected are not replayed: the link catches up with entries().
   */
  follow(prefix: string, onUpdate: (update: FleetUpdate) => void): Promise<() => void>;
  /** Append to the group audit stream; `id` deduplicates retries. */
  publishAudit(host: string, id: string, value: Uint8Array): Promise<void>;
  onConnection(listener: (event: FleetConnectionEvent) => void): void;
  close(): Promise<void>;
}
