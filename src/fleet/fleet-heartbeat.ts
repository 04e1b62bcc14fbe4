import type { Clock, TimerHandle } from '../model/clock.js';
import type { FleetConfig } from '../config/types.js';
import type { FleetBody, FleetEnvelope, HeartbeatBody } from './fleet-message.js';
import { memberEntryKey } from './fleet-keys.js';
import type { FleetTransport } from './fleet-transport.js';
import { encodeEnvelope, verifyEnvelope } from './message-signing.js';

// One member's heartbeat: every heartbeatInterval it writes its key in the bucket (version,
// fleet doors, clock offset), measures its clock against the time the servers stored that
// write, and says whether this member may accept fleet grants (its clock within
// maxClockSkew). It also notices another member that heartbeats under the same name.
export interface FleetLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface FleetHeartbeatOptions {
  readonly config: FleetConfig;
  readonly transport: FleetTransport;
  readonly clock: Clock;
  readonly log: FleetLogger;
  readonly version: string;
  /** The fleet doors this member has, announced in each heartbeat. */
  readonly doors: () => readonly string[];
  /** Signs a message of this member (the link's signer: group, host, a fresh id). */
  readonly sign: (body: FleetBody, iat: number, exp: number) => FleetEnvelope;
  /** The clock came back within maxClockSkew: fleet grants are accepted again. */
  readonly onAccepting: () => void;
}

/** Clock readings kept; the offset in use is the one read with the shortest round trip. */
const OFFSET_SAMPLES = 5;
/** Own heartbeat ids remembered, to tell this member's writes of its key from a namesake's. */
const SENT_HEARTBEATS = 8;
/** How long a namesake's last sign keeps the duplicate-name alarm up (status, metrics). */
const NAMESAKE_MEMORY_MS = 600_000;

export class FleetHeartbeat {
  private readonly options: FleetHeartbeatOptions;
  private clockOffsetMs: number | null = null;
  private offsetSamples: readonly { readonly roundTrip: number; readonly offset: number }[] = [];
  private acceptingNow = false;
  /** Bucket revision of this member's last stored heartbeat, and the ids of its recent heartbeats. */
  private revision: number | undefined;
  private sent: readonly string[] = [];
  /** When another member with this member's name was last noticed (undefined: never). */
  private namesakeSeenAt: number | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(options: FleetHeartbeatOptions) {
    this.options = options;
  }

  /** Whether fleet grants are applied and published (false while the clock is off or not yet measured). */
  get accepting(): boolean {
    return this.acceptingNow;
  }

  /** This member's clock minus the servers', ms; null before the first measurement. */
  get clockOffset(): number | null {
    return this.clockOffsetMs;
  }

  /** Another member heartbeats under this member's name, lately. */
  get duplicateName(): boolean {
    return this.namesakeSeenAt !== undefined && this.options.clock.now() - this.namesakeSeenAt <= NAMESAKE_MEMORY_MS;
  }

  /** Beat every heartbeatInterval from now on (the first beat is the caller's). */
  schedule(): void {
    if (this.stopped) return;
    const { clock, config } = this.options;
    this.timer = clock.setTimer(clock.now() + config.heartbeatInterval, () => {
      void this.beat().finally(() => this.schedule());
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.options.clock.clearTimer(this.timer);
  }

  /** Announce this member and measure its clock against the time the servers stored the announcement. */
  async beat(): Promise<void> {
    const { transport, clock, config } = this.options;
    const key = memberEntryKey(config.host);
    const before = clock.now();
    const body: HeartbeatBody = {
      version: this.options.version,
      doors: [...this.options.doors()],
      clockOffset: this.clockOffsetMs,
      accepting: this.acceptingNow,
    };
    try {
      // A failed read only postpones the check; the heartbeat itself goes on.
      await this.checkNamesake(key).catch(() => undefined);
      const envelope = this.options.sign({ type: 'heartbeat', body }, before, before + 3 * config.heartbeatInterval);
      this.sent = [...this.sent.slice(-(SENT_HEARTBEATS - 1)), envelope.id];
      const revision = await transport.put(key, encodeEnvelope(envelope));
      this.revision = revision;
      // The servers stamped the entry between `before` and the acknowledgement; the read only learns the stamp.
      const after = clock.now();
      // A read answered by a lagging replica returns an earlier heartbeat, a whole interval older: ask again.
      let stored = await transport.get(key);
      for (let retry = 0; retry < 2 && stored?.revision !== revision; retry++) stored = await transport.get(key);
      if (stored?.revision !== revision) stored = undefined;
      // The offset is known to ±half the round trip: a reading whose error could reach a quarter of
      // maxClockSkew (a busy or failing-over cluster, a publish buffered through a reconnect) is dropped,
      // and of the last few readings the one with the shortest round trip is the most exact (as NTP does).
      if (stored && after - before <= config.maxClockSkew / 2) {
        this.offsetSamples = [
          ...this.offsetSamples.slice(-(OFFSET_SAMPLES - 1)),
          { roundTrip: after - before, offset: Math.round((before + after) / 2 - stored.created) },
        ];
        const best = this.offsetSamples.reduce((a, b) => (b.roundTrip < a.roundTrip ? b : a));
        this.setClockOffset(best.offset);
      }
    } catch (error) {
      this.options.log.warn(
        `fleet ${config.group}: heartbeat failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** Why fleet grants are refused now (the clock), for log lines. */
  refusalText(): string {
    return this.clockOffsetMs === null
      ? 'clock offset not measured yet; refusing fleet grants'
      : `clock is ${this.clockOffsetMs} ms off the NATS servers (more than fleet.maxClockSkew ${this.options.config.maxClockSkew} ms); refusing fleet grants`;
  }

  /**
   * Another member uses this member's name: the two take each other's changes for their own.
   * Said loudly once per episode (status and metrics show it while it lasts).
   */
  noticeNamesake(evidence: string): void {
    const known = this.duplicateName;
    this.namesakeSeenAt = this.options.clock.now();
    if (known) return;
    const { group, host } = this.options.config;
    this.options.log.warn(
      `fleet ${group}: another member also calls itself "${host}" (${evidence}); ` +
        "members that share a name take each other's grant changes for their own and skip them: give each member its own fleet.host",
    );
  }

  /**
   * Only this member writes its heartbeat key, so a validly signed heartbeat stored there after
   * its own last one, and not one of its own, comes from another member with the same name.
   */
  private async checkNamesake(key: string): Promise<void> {
    if (this.revision === undefined) return;
    const stored = await this.options.transport.get(key);
    if (!stored || stored.revision <= this.revision) return;
    const { config, clock } = this.options;
    const verified = verifyEnvelope(stored.value, {
      key: config.key,
      group: config.group,
      now: clock.now(),
      maxSkew: config.maxClockSkew,
    });
    if (
      !verified.ok ||
      verified.envelope.type !== 'heartbeat' ||
      verified.envelope.host !== config.host ||
      this.sent.includes(verified.envelope.id)
    )
      return;
    this.noticeNamesake(
      `its heartbeat (version ${verified.envelope.body.version}) replaced this member's in the bucket`,
    );
  }

  private setClockOffset(offset: number): void {
    const { config, log } = this.options;
    this.clockOffsetMs = offset;
    const accepting = Math.abs(offset) <= config.maxClockSkew;
    if (accepting === this.acceptingNow) return;
    this.acceptingNow = accepting;
    if (!accepting) {
      log.warn(`fleet ${config.group}: ${this.refusalText()}`);
    } else {
      log.info(
        `fleet ${config.group}: clock offset ${offset} ms is within ${config.maxClockSkew} ms; accepting fleet grants`,
      );
      this.options.onAccepting();
    }
  }
}
