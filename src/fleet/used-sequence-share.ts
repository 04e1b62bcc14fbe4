import { createHash, randomUUID } from 'node:crypto';
import type { FleetConfig } from '../config/types.js';
import type { Clock, TimerHandle } from '../model/clock.js';
import { keyRelevantUntil } from '../knock/door-plan.js';
import { SPA_USED_PREFIX } from '../spa/replay-share.js';
import { USED_PREFIX } from './fleet-keys.js';
import { FLEET_PROTOCOL } from './fleet-message.js';
import type { FleetTransport, FleetUpdate } from './fleet-transport.js';
import { encodeEnvelope, signEnvelope, verifyEnvelope } from './message-signing.js';

// Single-use sequences (one-time and time-based) used on a fleet door, shared with the group:
// one bucket entry per sequence (keyed by a hash of the sequence, not the door), signed like
// every message. Marking a sequence used only ever refuses knocks, so an entry needs no
// ordering or replay check beyond its signature: applying one twice, late or from a replayed
// write changes nothing. What is left: two members that take the same sequence within the
// time a write needs to reach the other (milliseconds on a healthy cluster) both open.
// Used SPA packets on fleet SPA doors travel the same way (`spa:<until>:<digest>`,
// src/spa/replay-share.ts), so the SPA replay cache is group-wide.
export interface UsedSequencePort {
  /** Mark `key` used here (a peer used it). */
  markUsed(key: string): void;
  /** Hear of sequences used here: the key and the door it opened. */
  onUsed(listener: (key: string, door: string) => void): void;
}

/** How long a one-time sequence's entry stays valid (it never becomes usable again; ten years stands for "always"). */
const ONE_TIME_LIFE_MS = 3650 * 86_400_000;
/** A time-based entry outlives the time its sequence could be knocked by this much (any door's timeout fits). */
const TIME_BASED_SLACK_MS = 86_400_000;

export function usedEntryKey(sequenceKey: string): string {
  return `${USED_PREFIX}${createHash('sha256').update(sequenceKey).digest('hex').slice(0, 40)}`;
}

export class UsedSequenceShare {
  /** Entries not yet stored (the servers were unreachable or had no stream leader): tried again after retryDelay and at each catch-up. */
  private readonly pending = new Map<string, Uint8Array>();
  private retryTimer: TimerHandle | undefined;
  private stopped = false;
  private stopFollow: (() => void) | undefined;
  private shared = 0;
  private applied = 0;

  constructor(
    private readonly options: {
      readonly config: FleetConfig;
      readonly transport: FleetTransport;
      readonly port: UsedSequencePort;
      readonly clock: Clock;
      /** Before an entry that could not be stored is tried again, ms (1000). */
      readonly retryDelay?: number;
      readonly warn: (message: string) => void;
    },
  ) {}

  /** Publish what this member uses on fleet doors, follow what the others use, and catch up. */
  async start(): Promise<void> {
    const fleetDoors = new Set(this.options.config.doors);
    this.options.port.onUsed((key, door) => {
      if (fleetDoors.has(door)) void this.publish(key);
    });
    this.stopFollow = await this.options.transport.follow(USED_PREFIX, (update) => this.apply(update));
    await this.resync();
  }

  stop(): void {
    this.stopped = true;
    this.stopFollow?.();
    if (this.retryTimer) this.options.clock.clearTimer(this.retryTimer);
  }

  /** Retry unsent entries, then read every entry again (the link calls this on reconnect and once a minute). */
  async resync(): Promise<void> {
    await this.publishPending();
    try {
      for (const entry of await this.options.transport.entries(USED_PREFIX)) this.apply(entry);
    } catch (error) {
      this.options.warn(
        `fleet ${this.options.config.group}: cannot read used sequences: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  counts(): { shared: number; applied: number; pending: number } {
    return { shared: this.shared, applied: this.applied, pending: this.pending.size };
  }

  /**
   * A one-time sequence left unshared can be replayed on another member, so an entry that could
   * not be stored (a cluster electing a leader answers for seconds without a disconnect) is
   * tried again within a second, not only at the next catch-up.
   */
  private async publishPending(): Promise<void> {
    for (const [entry, value] of [...this.pending]) {
      try {
        await this.options.transport.put(entry, value);
        this.pending.delete(entry);
        this.shared += 1;
      } catch {
        this.scheduleRetry();
        return;
      }
    }
  }

  private scheduleRetry(): void {
    const { clock } = this.options;
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = clock.setTimer(clock.now() + (this.options.retryDelay ?? 1000), () => {
      this.retryTimer = undefined;
      void this.publishPending();
    });
  }

  private async publish(key: string): Promise<void> {
    const { config, clock } = this.options;
    const iat = clock.now();
    const relevant = keyRelevantUntil(key);
    // A used SPA packet's entry ends when the packet turns stale; a time-based one a timeout later.
    const slack = key.startsWith(SPA_USED_PREFIX) ? 0 : TIME_BASED_SLACK_MS;
    const exp = Number.isFinite(relevant) ? relevant + slack : iat + ONE_TIME_LIFE_MS;
    const envelope = signEnvelope(
      {
        v: FLEET_PROTOCOL,
        group: config.group,
        id: randomUUID(),
        host: config.host,
        iat,
        exp,
        type: 'used',
        body: { key },
      },
      config.key,
    );
    const entry = usedEntryKey(key);
    const value = encodeEnvelope(envelope);
    try {
      await this.options.transport.put(entry, value);
      this.shared += 1;
    } catch {
      this.pending.set(entry, value);
      this.scheduleRetry();
    }
  }

  private apply(update: FleetUpdate): void {
    const { config, clock } = this.options;
    const verified = verifyEnvelope(update.value, {
      key: config.key,
      group: config.group,
      now: clock.now(),
      maxSkew: config.maxClockSkew,
    });
    if (!verified.ok) return;
    const { envelope } = verified;
    if (envelope.type !== 'used' || envelope.host === config.host || update.key !== usedEntryKey(envelope.body.key))
      return;
    this.options.port.markUsed(envelope.body.key);
    this.applied += 1;
  }
}
