import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../model/clock.js';
import type { AuditRecord } from '../audit/record.js';
import type { FleetConfig } from '../config/types.js';
import { grantKey } from '../model/grant.js';
import type { FleetEnvelope, FleetBody, GrantBody } from './fleet-message.js';
import { FLEET_PROTOCOL } from './fleet-message.js';
import { GRANT_PREFIX, grantEntryKey, parseGrantEntryKey } from './fleet-keys.js';
import type { FleetConnectionEvent, FleetEntry, FleetTransport, FleetUpdate } from './fleet-transport.js';
import type { FleetGrantPort } from './grant-port.js';
import type { OutboxStore, SavedChange } from './outbox-file.js';
import { StateStore } from '../grant/state-store.js';
import {
  encodeEnvelope,
  REJECT_REASONS,
  resignEnvelope,
  signEnvelope,
  verifyEnvelope,
  type RejectReason,
} from './message-signing.js';
import { FleetHeartbeat, type FleetLogger } from './fleet-heartbeat.js';
import { ReplayGuard } from './replay-guard.js';
import { UsedSequenceShare, type UsedSequencePort } from './used-sequence-share.js';

// Connects one member's grant engine to the group: local grant changes of fleet doors go
// into the KV bucket (one key per door and source, so the bucket's revision orders the
// changes of one grant), and other members' changes come back out of it into the local
// engine with the same absolute `until`. It fails closed: nothing it does can keep a port
// open longer than the local engine's own expiry, and a member whose clock is off, or that
// cannot verify a message, applies nothing.
export type { FleetLogger } from './fleet-heartbeat.js';

export interface FleetLinkOptions {
  readonly config: FleetConfig;
  /** Longest grant a fleet message may give here (limits.maxOpenFor); also the life of a published close. */
  readonly maxOpenFor: number;
  readonly port: FleetGrantPort;
  readonly transport: FleetTransport;
  readonly clock: Clock;
  readonly log: FleetLogger;
  readonly version: string;
  /** Delay before a failed publish is tried again, ms. */
  readonly retryDelay?: number;
  /** Where unpublished grant changes are kept across restarts (the daemon's state directory); without one they live in memory only. */
  readonly outbox?: OutboxStore;
  /** The knock engine's single-use sequences, shared with the group for fleet doors (absent: not shared). */
  readonly sequences?: UsedSequencePort;
}

export type IgnoreReason =
  'own' | 'no-such-door' | 'not-allowed' | 'past-until' | 'clock-skew' | 'not-held' | 'superseded';

export interface FleetLinkStatus {
  readonly group: string;
  readonly host: string;
  readonly connected: boolean;
  /** Whether fleet grants are applied and published (false while the clock is off or not yet measured). */
  readonly accepting: boolean;
  /** This member's clock minus the servers', ms; null before the first measurement. */
  readonly clockOffset: number | null;
  readonly published: number;
  readonly applied: number;
  readonly rejected: Record<RejectReason, number>;
  readonly ignored: Record<IgnoreReason, number>;
  /** Changes and audit records waiting for the servers (e.g. during a partition). */
  readonly outbox: number;
  /** Another member heartbeats under this member's name (fleet.host): the two ignore each other's changes as their own. */
  readonly duplicateName: boolean;
}

const MAX_AUDIT_OUTBOX = 10_000;
/** How long outbox changes gather before they are written (a crash within it loses them, as it would any unsent change). */
const OUTBOX_BATCH_MS = 100;
const RESYNC_INTERVAL_MS = 60_000;
/** Own grant change ids remembered, to tell a live change signed with this member's name by another member. */
const SENT_GRANTS = 10_000;
/**
 * Longest a grant change may take from its signature to the servers beyond the clocks' skew: a
 * publish is signed just before it is sent and fails after the transport's timeout (5 s), and
 * a retry is signed again. An entry older than that when stored (or, seen live, when it
 * arrives) was put back by someone else: a replay, refused even by a member that never saw it.
 */
const PUBLISH_SLACK_MS = 10_000;

interface Outgoing {
  readonly key: string;
  readonly envelope: FleetEnvelope;
  /** Grant changes: the id of the group's change of this grant this member had applied when it made this one (the one it replaces). */
  readonly after?: string;
}

export class FleetLink {
  private readonly options: FleetLinkOptions;
  private readonly config: FleetConfig;
  private readonly fleetDoors: Set<string>;
  private readonly replay = new ReplayGuard();
  /** Highest bucket revision handled per key: a redelivery (resync) is not a replay. */
  private readonly handled = new Map<string, number>();
  /** Id of the last message handled per key: the same message seen live and then in a bucket read is handled once. */
  private readonly lastId = new Map<string, string>();
  /** Grants being changed on behalf of another member: their records are not published back. */
  private readonly applying = new Set<string>();
  /** Latest unpublished change per grant key (a newer change replaces an older one). */
  private grantOutbox = new Map<string, Outgoing>();
  /** Writes the grant outbox after each change of it, coalesced (undefined: kept in memory only). */
  private readonly outboxStore: StateStore<readonly SavedChange[]> | undefined;
  private readonly auditOutbox: Outgoing[] = [];
  private readonly counts = {
    published: 0,
    applied: 0,
    rejected: Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as Record<RejectReason, number>,
    ignored: {
      own: 0,
      'no-such-door': 0,
      'not-allowed': 0,
      'past-until': 0,
      'clock-skew': 0,
      'not-held': 0,
      superseded: 0,
    } as Record<IgnoreReason, number>,
  };
  private connected = false;
  /** Announces this member, measures its clock, notices a namesake. */
  private readonly heartbeat: FleetHeartbeat;
  private readonly sentGrants = new Set<string>();
  private stopFollow: (() => void) | undefined;
  private resyncEvery: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private resyncTimer: TimerHandle | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  /** Incoming entries are handled one at a time, in arrival order. */
  private incoming: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly used: UsedSequenceShare | undefined;

  constructor(options: FleetLinkOptions) {
    this.options = options;
    this.used = options.sequences
      ? new UsedSequenceShare({
          config: options.config,
          transport: options.transport,
          port: options.sequences,
          clock: options.clock,
          ...(options.retryDelay === undefined ? {} : { retryDelay: options.retryDelay }),
          warn: (message) => options.log.warn(message),
        })
      : undefined;
    this.config = options.config;
    this.fleetDoors = new Set(options.config.doors);
    this.heartbeat = new FleetHeartbeat({
      config: options.config,
      transport: options.transport,
      clock: options.clock,
      log: options.log,
      version: options.version,
      doors: () => [...this.fleetDoors].filter((door) => options.port.hasDoor(door)),
      sign: (body, iat, exp) => this.sign(body, iat, exp),
      // Entries refused meanwhile were not marked handled; apply them now.
      onAccepting: () => {
        if (this.stopFollow) void this.resync();
      },
    });
    const store = options.outbox;
    this.outboxStore = store
      ? new StateStore<readonly SavedChange[]>({
          clock: options.clock,
          snapshot: () =>
            [...this.grantOutbox.values()].map(({ envelope, after }) => ({
              envelope,
              ...(after === undefined ? {} : { after }),
            })),
          save: (changes) => store.save(changes),
          // A burst of changes (a flood of knocks on a fleet door while cut off) costs a write per batch, not one per change.
          batchMs: OUTBOX_BATCH_MS,
          onError: (error) =>
            this.options.log.warn(
              `fleet ${this.config.group}: cannot save the outbox (kept in memory, tried again): ${error instanceof Error ? error.message : String(error)}`,
            ),
        })
      : undefined;
  }

  /**
   * Listen to the local grant engine and the connection, measure the clock, announce this
   * member, follow changes, then apply the group's current grants. The constructor only
   * assigns: nothing is heard before start().
   */
  async start(): Promise<void> {
    const { port, transport } = this.options;
    port.onRecord((record) => this.observe(record));
    transport.onConnection((event) => this.connectionChanged(event));
    await this.restoreOutbox();
    await this.heartbeat.beat();
    this.connected = true;
    // Follow first, then read the bucket: a write between the two is seen at least once.
    this.stopFollow = await this.options.transport.follow(GRANT_PREFIX, (update) => this.enqueueIncoming(update));
    await this.resync();
    await this.used?.start();
    this.heartbeat.schedule();
    this.schedulePeriodicResync();
    void this.flush();
  }

  private connectionChanged(event: FleetConnectionEvent): void {
    if (event === 'disconnect') {
      this.connected = false;
      this.options.log.warn(
        `fleet ${this.config.group}: lost the NATS servers; local knocks and expiry go on, changes wait in the outbox`,
      );
      return;
    }
    this.connected = true;
    this.options.log.info(`fleet ${this.config.group}: reconnected; catching up from the bucket`);
    void this.heartbeat
      .beat()
      .then(() => this.resync())
      .then(() => this.flush());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopFollow?.();
    this.used?.stop();
    const { clock } = this.options;
    this.heartbeat.stop();
    if (this.retryTimer) clock.clearTimer(this.retryTimer);
    if (this.resyncTimer) clock.clearTimer(this.resyncTimer);
    if (this.resyncEvery) clock.clearTimer(this.resyncEvery);
    await this.incoming;
    await this.flushing;
    await this.outboxStore?.flush();
    await this.options.transport.close();
  }

  /** Resolves when every entry received so far has been handled and every queued publish tried. */
  async idle(): Promise<void> {
    await this.incoming;
    await this.flushing;
  }

  status(): FleetLinkStatus {
    return {
      group: this.config.group,
      host: this.config.host,
      connected: this.connected,
      accepting: this.heartbeat.accepting,
      clockOffset: this.heartbeat.clockOffset,
      published: this.counts.published,
      applied: this.counts.applied,
      rejected: { ...this.counts.rejected },
      ignored: { ...this.counts.ignored },
      outbox: this.grantOutbox.size + this.auditOutbox.length,
      duplicateName: this.heartbeat.duplicateName,
    };
  }

  /** Apply every current grant entry again (after a reconnect or when the clock came back in line); retried until it succeeds. */
  async resync(): Promise<void> {
    let entries: FleetEntry[];
    try {
      entries = await this.options.transport.entries(GRANT_PREFIX);
    } catch (error) {
      this.options.log.warn(
        `fleet ${this.config.group}: catch-up failed, trying again: ${error instanceof Error ? error.message : String(error)}`,
      );
      this.scheduleResync();
      return;
    }
    for (const entry of entries) this.enqueueIncoming(entry);
    await this.incoming;
    await this.used?.resync();
  }

  /** A safety net under the live notifications: read the whole bucket once a minute. */
  private schedulePeriodicResync(): void {
    const { clock } = this.options;
    if (this.stopped) return;
    this.resyncEvery = clock.setTimer(clock.now() + RESYNC_INTERVAL_MS, () => {
      void this.resync().finally(() => this.schedulePeriodicResync());
    });
  }

  private scheduleResync(): void {
    const { clock } = this.options;
    if (this.stopped || this.resyncTimer) return;
    this.resyncTimer = clock.setTimer(clock.now() + (this.options.retryDelay ?? 1000), () => {
      this.resyncTimer = undefined;
      void this.resync();
    });
  }

  // ---- outgoing ----

  /**
   * The changes a previous run of this member could not publish, verified as a bucket entry
   * would be (an expired one, or one signed with a key since rotated away, is dropped), put
   * before any change made since this link was built (those are newer).
   */
  private async restoreOutbox(): Promise<void> {
    const { outbox, clock, log } = this.options;
    if (!outbox) return;
    let saved: readonly SavedChange[];
    try {
      saved = await outbox.load();
    } catch (error) {
      log.warn(
        `fleet ${this.config.group}: cannot read the outbox, starting without it: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    const now = clock.now();
    const restored = new Map<string, Outgoing>();
    let dropped = 0;
    for (const { envelope: read, after } of saved) {
      const verified = verifyEnvelope(Buffer.from(JSON.stringify(read), 'utf8'), {
        key: this.config.key,
        group: this.config.group,
        now,
        maxSkew: this.config.maxClockSkew,
      });
      const envelope = verified.ok ? verified.envelope : undefined;
      if (!envelope || envelope.type !== 'grant' || envelope.host !== this.config.host) {
        dropped += 1;
        continue;
      }
      const key = grantEntryKey(envelope.body.door, envelope.body.src);
      restored.delete(key);
      restored.set(key, { key, envelope, ...(after === undefined ? {} : { after }) });
      this.rememberGrant(envelope.id);
    }
    for (const [key, outgoing] of this.grantOutbox) {
      restored.delete(key);
      restored.set(key, outgoing);
    }
    this.grantOutbox = restored;
    if (saved.length > 0) {
      log.info(
        `fleet ${this.config.group}: ${restored.size} unpublished grant change(s) from before the restart wait in the outbox${dropped > 0 ? `; ${dropped} expired or no longer valid, dropped` : ''}`,
      );
      this.outboxStore?.changed();
    }
  }

  private observe(record: AuditRecord): void {
    if (this.stopped) return;
    const now = this.options.clock.now();
    this.queueAudit(record, now);
    this.queueGrantChange(record, now);
    void this.flush();
  }

  private queueGrantChange(record: AuditRecord, now: number): void {
    if (!this.fleetDoors.has(record.door) || this.applying.has(grantKey(record))) return;
    let body: GrantBody | undefined;
    if (
      (record.event === 'open' || record.event === 'refresh') &&
      (record.by === 'knock' || record.by === 'manual' || record.by === 'spa')
    ) {
      // An until-closed door still ends in bounded time elsewhere: fail closed on members that miss the close.
      const until = record.until === null ? now + this.options.maxOpenFor : Date.parse(record.until);
      body = {
        action: 'open',
        door: record.door,
        src: record.src,
        family: record.src.includes(':') ? 6 : 4,
        until,
        by: record.by,
      };
    } else if (
      record.event === 'close' &&
      (record.reason === 'revoked' || record.reason === 'close-sequence' || record.reason === 'scanner')
    ) {
      body = { action: 'close', door: record.door, src: record.src, reason: record.reason };
    }
    if (!body) return;
    if (!this.heartbeat.accepting) {
      this.options.log.warn(
        `fleet ${this.config.group}: not sharing ${body.action} of ${record.door} for ${record.src}: ${this.heartbeat.refusalText()}`,
      );
      return;
    }
    const exp = body.action === 'open' ? body.until : now + this.options.maxOpenFor;
    const key = grantEntryKey(record.door, record.src);
    this.grantOutbox.delete(key); // re-insert: Map order is publish order
    const after = this.lastId.get(key);
    const envelope = this.sign({ type: 'grant', body }, now, exp);
    this.rememberGrant(envelope.id);
    this.grantOutbox.set(key, { key, envelope, ...(after === undefined ? {} : { after }) });
    this.outboxStore?.changed();
  }

  private queueAudit(record: AuditRecord, now: number): void {
    if (this.auditOutbox.length >= MAX_AUDIT_OUTBOX) this.auditOutbox.shift();
    const envelope = this.sign({ type: 'audit', body: { record } }, now, now + this.config.auditRetention);
    this.auditOutbox.push({ key: envelope.id, envelope });
  }

  private rememberGrant(id: string): void {
    this.sentGrants.add(id);
    if (this.sentGrants.size > SENT_GRANTS) this.sentGrants.delete(this.sentGrants.values().next().value!);
  }

  private sign(body: FleetBody, now: number, exp: number): FleetEnvelope {
    return signEnvelope(
      { v: FLEET_PROTOCOL, group: this.config.group, id: randomUUID(), host: this.config.host, iat: now, exp, ...body },
      this.config.key,
    );
  }

  // One publishing round at a time; a change queued during a round gets another round right after it.
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = this.publishQueued().finally(() => {
      this.flushing = undefined;
      if (this.flushAgain && !this.stopped) {
        this.flushAgain = false;
        void this.flush();
      }
    });
    return this.flushing;
  }

  private async publishQueued(): Promise<void> {
    const { transport, clock } = this.options;
    let failed = false;
    for (const [key, outgoing] of [...this.grantOutbox]) {
      if (this.grantOutbox.get(key) !== outgoing) continue; // replaced or superseded meanwhile
      if (outgoing.envelope.exp <= clock.now()) {
        this.grantOutbox.delete(key);
        this.outboxStore?.changed();
        continue;
      }
      try {
        // A compare-and-set on the entry as it stands now. Whatever another member stored since this
        // member last read the key (a revoke made while it was cut off, its catch-up not yet done or
        // failed) is applied first and may supersede this change (dropSuperseded); a write landing
        // between the read and the put fails the put, which is retried.
        const current = await transport.get(key);
        if (current?.operation === 'PUT' && (this.handled.get(key) ?? 0) < current.revision) {
          this.enqueueIncoming(current);
          await this.incoming;
          if (this.grantOutbox.get(key) !== outgoing) continue;
        }
        // Signed now: its age when stored says it is fresh (the id stays, so a copy already stored counts once).
        await transport.put(
          key,
          encodeEnvelope(resignEnvelope(outgoing.envelope, clock.now(), this.config.key)),
          current?.revision ?? 0,
        );
        if (this.grantOutbox.get(key) === outgoing) {
          this.grantOutbox.delete(key);
          this.outboxStore?.changed();
        }
        this.counts.published += 1;
      } catch {
        failed = true;
        break;
      }
    }
    while (!failed && this.auditOutbox.length > 0) {
      const outgoing = this.auditOutbox[0]!;
      try {
        await transport.publishAudit(this.config.host, outgoing.envelope.id, encodeEnvelope(outgoing.envelope));
        this.auditOutbox.shift();
      } catch {
        failed = true;
      }
    }
    if (failed && !this.stopped && !this.retryTimer) {
      this.retryTimer = clock.setTimer(clock.now() + (this.options.retryDelay ?? 1000), () => {
        this.retryTimer = undefined;
        void this.flush();
      });
    } else if (!failed && (this.grantOutbox.size > 0 || this.auditOutbox.length > 0) && !this.stopped) {
      // Changes that arrived while this round ran.
      this.flushAgain = true;
    }
  }

  // ---- incoming ----

  private enqueueIncoming(entry: FleetUpdate): void {
    this.incoming = this.incoming
      .then(() => this.handleEntry(entry))
      .catch((error: unknown) => {
        this.options.log.warn(`fleet ${this.config.group}: could not apply ${entry.key}: ${String(error)}`);
      });
  }

  private async handleEntry(entry: FleetUpdate): Promise<void> {
    if (this.stopped) return;
    if (entry.revision !== undefined && (this.handled.get(entry.key) ?? 0) >= entry.revision) return;
    const now = this.options.clock.now();
    const verified = verifyEnvelope(entry.value, {
      key: this.config.key,
      group: this.config.group,
      now,
      maxSkew: this.config.maxClockSkew,
    });
    if (!verified.ok) {
      this.reject(entry, verified.reason);
      return;
    }
    const { envelope } = verified;
    this.dropSuperseded(entry, envelope);
    if (this.lastId.get(entry.key) === envelope.id) {
      this.markHandled(entry);
      return;
    }
    const named = parseGrantEntryKey(entry.key);
    if (envelope.type !== 'grant' || !named || named.door !== envelope.body.door || named.src !== envelope.body.src) {
      this.reject(entry, 'malformed');
      return;
    }
    if (envelope.host === this.config.host) {
      // Seen live (written since this link started) and not signed here: a namesake's change, applied.
      if (entry.revision !== undefined || this.sentGrants.has(envelope.id)) {
        this.ignore(entry, 'own');
        return;
      }
      this.heartbeat.noticeNamesake('a grant change signed with this name that this member never made arrived');
    }
    // This member changed the grant after the stored change was made (dropSuperseded kept its
    // change) and has not published that yet: cut off, or restarted since with the change in its
    // saved outbox. The stored change is the older one and must not undo it (reopen a revoke).
    if (this.grantOutbox.has(entry.key)) {
      this.ignore(entry, 'superseded');
      return;
    }
    // Stored (or, live, arriving) long after it was signed: put back by someone with access to NATS.
    if ((entry.created ?? now) - envelope.iat > 2 * this.config.maxClockSkew + PUBLISH_SLACK_MS) {
      this.reject(entry, 'replayed');
      return;
    }
    if (!this.heartbeat.accepting) {
      // Not marked handled: applied by the resync once the clock is back in line.
      this.counts.ignored['clock-skew'] += 1;
      return;
    }
    if (!this.replay.admit(envelope.id, envelope.exp, now)) {
      this.reject(entry, 'replayed');
      return;
    }
    this.lastId.set(entry.key, envelope.id);
    this.markHandled(entry);
    const body = envelope.body;
    if (!this.fleetDoors.has(body.door) || !this.options.port.hasDoor(body.door)) {
      this.ignore(entry, 'no-such-door');
      return;
    }
    const key = grantKey(body);
    this.applying.add(key);
    try {
      if (body.action === 'open') {
        if (body.until <= now) {
          this.ignore(entry, 'past-until');
          return;
        }
        const result = await this.options.port.open(
          body.door,
          body.src,
          body.family,
          Math.min(body.until, now + this.options.maxOpenFor),
          envelope.host,
        );
        if (result === 'no-such-door' || result === 'not-allowed') {
          this.ignore(entry, result);
          return;
        }
        if (result !== 'unchanged') this.counts.applied += 1;
      } else if (await this.options.port.close(body.door, body.src, body.reason)) {
        this.counts.applied += 1;
      } else {
        this.ignore(entry, 'not-held');
      }
    } finally {
      this.applying.delete(key);
    }
  }

  // An unpublished change of this grant is stale when the bucket holds it already (stored although
  // its acknowledgement was lost: read from the bucket, with a revision; its live echo proves
  // nothing, as the subject's subscribers hear a publish the stream may never store when its
  // leader dies under it) or holds another member's change that reached the servers after
  // ours was made (a revoke made elsewhere while this member was cut off): publishing it would
  // undo that. A publish is signed when sent, so another member's `iat` is when it reached them.
  // The change ours replaced (`after`: we had applied it) is older whatever the clocks say, so
  // a revoke made within the clocks' skew of the open it ends is never taken for the older one.
  // This member's own earlier writes are older than its outbox by construction.
  private dropSuperseded(entry: FleetUpdate, stored: FleetEnvelope): void {
    const key = entry.key;
    const pending = this.grantOutbox.get(key);
    if (!pending) return;
    if (
      (pending.envelope.id === stored.id && entry.revision !== undefined) ||
      (stored.host !== this.config.host && stored.id !== pending.after && pending.envelope.iat <= stored.iat)
    ) {
      this.grantOutbox.delete(key);
      this.outboxStore?.changed();
    }
  }

  private markHandled(entry: FleetUpdate): void {
    if (entry.revision !== undefined)
      this.handled.set(entry.key, Math.max(entry.revision, this.handled.get(entry.key) ?? 0));
  }

  private reject(entry: FleetUpdate, reason: RejectReason): void {
    this.markHandled(entry);
    this.counts.rejected[reason] += 1;
    this.options.log.warn(
      `fleet ${this.config.group}: refused ${entry.key}${entry.revision === undefined ? '' : ` (revision ${entry.revision})`}: ${reason}`,
    );
  }

  private ignore(entry: FleetUpdate, reason: IgnoreReason): void {
    this.markHandled(entry);
    this.counts.ignored[reason] += 1;
  }
}
