import type { FleetConfig } from '../../src/config/types.js';
import { grantEnginePort, type GrantEnginePort } from '../../src/fleet/grant-engine-port.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import { ManualClock } from '../../src/model/clock.js';
import type { Door } from '../../src/model/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';
import type { FleetConnectionEvent, FleetEntry, FleetTransport, FleetUpdate } from '../../src/fleet/fleet-transport.js';

// An in-memory stand-in for the group's JetStream bucket and audit stream: revisions,
// server timestamps from its own clock, live notifications, and members that can be cut
// off (their calls fail, notifications are lost) and reconnected (they must catch up).
export class MemoryBucket {
  readonly entries = new Map<string, FleetEntry>();
  readonly audit: { host: string; id: string; value: Uint8Array }[] = [];
  readonly watchers = new Set<{ prefix: string; deliver: (entry: FleetEntry) => void }>();
  private revision = 0;
  puts = 0;

  constructor(readonly serverNow: () => number) {}

  write(key: string, value: Uint8Array): number {
    this.revision += 1;
    this.puts += 1;
    const entry: FleetEntry = { key, value, revision: this.revision, created: this.serverNow(), operation: 'PUT' };
    this.entries.set(key, entry);
    for (const watcher of this.watchers) if (key.startsWith(watcher.prefix)) watcher.deliver(entry);
    return this.revision;
  }

  /** Subscribers hear a publish the stream never stores (its leader died under it). */
  deliverUnstored(key: string, value: Uint8Array): void {
    const entry: FleetEntry = { key, value, revision: this.revision + 1, created: this.serverNow(), operation: 'PUT' };
    for (const watcher of this.watchers) if (key.startsWith(watcher.prefix)) watcher.deliver(entry);
  }

  appendAudit(host: string, id: string, value: Uint8Array): void {
    if (!this.audit.some((entry) => entry.id === id)) this.audit.push({ host, id, value });
  }
}

export class MemoryFleetTransport implements FleetTransport {
  private online = true;
  private readonly listeners: ((event: FleetConnectionEvent) => void)[] = [];

  constructor(readonly bucket: MemoryBucket) {}

  setOnline(online: boolean): void {
    if (online === this.online) return;
    this.online = online;
    for (const listener of this.listeners) listener(online ? 'reconnect' : 'disconnect');
  }

  /** Runs `work` as the server would answer it: rejected while this member is offline. */
  private call<T>(work: () => T): Promise<T> {
    return this.online ? new Promise((resolve) => resolve(work())) : Promise.reject(new Error('disconnected'));
  }

  /** Runs after each stored put, before its answer (a test's slow or lost acknowledgement). */
  afterPut: (() => void) | undefined;

  /** Fails the next `entries()` calls (a catch-up that times out). */
  failEntries = 0;
  /** The next put is heard by every subscriber, its sender included, but never stored, and times out. */
  loseNextPut = false;
  /** Fails the next puts while connected (no stream leader: nobody hears them). */
  failPuts = 0;

  put(key: string, value: Uint8Array, expectedRevision?: number): Promise<number> {
    return this.call(() => {
      const latest = this.bucket.entries.get(key)?.revision ?? 0;
      if (expectedRevision !== undefined && expectedRevision !== latest)
        throw new Error(`wrong last sequence: ${latest}`);
      if (this.failPuts > 0) {
        this.failPuts -= 1;
        throw new Error('jetstream is not enabled');
      }
      if (this.loseNextPut) {
        this.loseNextPut = false;
        this.bucket.deliverUnstored(key, value);
        throw new Error('timeout');
      }
      this.previous.set(key, this.bucket.entries.get(key));
      const revision = this.bucket.write(key, value);
      this.afterPut?.();
      return revision;
    });
  }

  /** Answers reads from the entries as they were before the last put (a lagging replica). */
  staleReads = false;
  private readonly previous = new Map<string, FleetEntry | undefined>();

  get(key: string): Promise<FleetEntry | undefined> {
    return this.call(() => {
      return this.staleReads ? this.previous.get(key) : this.bucket.entries.get(key);
    });
  }

  entries(prefix: string): Promise<FleetEntry[]> {
    return this.call(() => {
      if (this.failEntries > 0) {
        this.failEntries -= 1;
        throw new Error('timeout');
      }
      return [...this.bucket.entries.values()]
        .filter((entry) => entry.key.startsWith(prefix))
        .sort((a, b) => a.revision - b.revision);
    });
  }

  follow(prefix: string, onUpdate: (update: FleetUpdate) => void): Promise<() => void> {
    return this.call(() => {
      // Live notifications only, lost while offline (as a core NATS subscription's are).
      const watcher = {
        prefix,
        deliver: (entry: FleetEntry) => (this.online ? onUpdate({ key: entry.key, value: entry.value }) : undefined),
      };
      this.bucket.watchers.add(watcher);
      return () => this.bucket.watchers.delete(watcher);
    });
  }

  publishAudit(host: string, id: string, value: Uint8Array): Promise<void> {
    return this.call(() => {
      this.bucket.appendAudit(host, id, value);
    });
  }

  onConnection(listener: (event: FleetConnectionEvent) => void): void {
    this.listeners.push(listener);
  }

  close(): Promise<void> {
    this.online = false;
    return Promise.resolve();
  }
}

/** A member's fleet config for unit tests (one NATS server, no auth, the given key and fleet doors). */
export function testFleetConfig(host: string, key: string, doors: readonly string[]): FleetConfig {
  return {
    servers: ['nats://198.51.100.1:4222'],
    group: 'bastions',
    host,
    auth: { kind: 'none' },
    key,
    keyFile: '/k',
    maxClockSkew: 2000,
    heartbeatInterval: 5000,
    replicas: 1,
    auditRetention: 86_400_000,
    doors,
  };
}

/** Lets every promise and setImmediate queued by fake transports and links run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A clock at `t0`, a bucket, and members b1, b2 built by `member` that have joined. */
export async function joinedPair<M extends { readonly link: { start(): Promise<void> } }>(
  t0: number,
  member: (host: string, clock: ManualClock, bucket: MemoryBucket) => M,
): Promise<{ clock: ManualClock; bucket: MemoryBucket; b1: M; b2: M }> {
  const clock = new ManualClock(t0);
  const bucket = new MemoryBucket(() => clock.now());
  const b1 = member('b1', clock, bucket);
  const b2 = member('b2', clock, bucket);
  await b1.link.start();
  await b2.link.start();
  return { clock, bucket, b1, b2 };
}

/** A member's grant engine on a fake backend, and the fleet link's port onto it (fed every record). */
export function memberEngine(
  doors: readonly Door[],
  clock: ManualClock,
): { engine: GrantEngine; port: GrantEnginePort } {
  const port = grantEnginePort({ engine: () => engine, doors: () => doors, now: () => clock.now() });
  const engine: GrantEngine = new GrantEngine({
    doors,
    backend: new FakeBackend(),
    audit: new MemoryAudit(),
    clock,
    onRecord: (record) => port.emit(record),
  });
  return { engine, port };
}
