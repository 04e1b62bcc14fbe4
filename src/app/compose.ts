import type { AuditRecord, AuditSink } from '../audit/record.js';
import type { Clock } from '../model/clock.js';
import type { Config } from '../config/types.js';
import { countRecord, countReject, createCounters, type Counters } from './counters.js';
import type { CommandRunner, FirewallBackend } from '../firewall/backend.js';
import { selectBackend } from '../firewall/select-backend.js';
import { selectLogAction } from '../firewall/log-action.js';
import { GrantEngine, type GrantStore } from '../grant/grant-engine.js';
import { ConntrackSessionEnder } from '../grant/session-ender.js';
import type { KnockEvent } from '../knock/events.js';
import { KnockTracker } from '../knock/tracker.js';
import { formatPort } from '../model/door.js';
import type { Grant } from '../model/grant.js';
import { tripwirePorts } from '../model/tripwires.js';
import type { ParseContext } from '../parse/packet.js';
import type { Tracer } from '../trace/stage-trace.js';
import { Pipeline } from './pipeline.js';
import type { ChunkSource } from '../source/chunk-source.js';

// The one composition root: source → parse → knock → grant → firewall → audit, built from a
// config and a set of parts. `run` gives the follower, the system clock and the real command
// runner; `replay` the file reader, the log clock and a simulated (recording) runner, so the
// configured backend class runs in replay too; the offline grant/revoke/status path gives no
// source. Nothing else builds a tracker, an engine or a pipeline.
export interface Parts {
  readonly clock: Clock;
  /** Runs firewall commands: ExecaRunner live, SimulatedFirewall in replay (a `dry-run` config simulates anyway). */
  readonly runner: CommandRunner;
  readonly audit: AuditSink;
  /** Where lines come from (the follower, /dev/kmsg, the file reader); absent for offline commands. */
  readonly source?: ChunkSource;
  /** Epoch ms at boot, for kernel-uptime timestamps; a function is asked per line (the live kmsg source's printk clock moves on resume). */
  readonly bootTime: number | (() => number);
  /** This host's addresses (a packet to any other DST= is foreign); absent or undefined: destinations are not checked. */
  readonly localAddresses?: () => ReadonlySet<string> | undefined;
  /** Reference time for syslog formats without a year (default: the clock's time). */
  readonly referenceTime?: () => number;
  /** Grants and used one-time sequences to start from (the state file). */
  readonly saved?: { readonly grants: readonly Grant[]; readonly usedOneTime: readonly string[] };
  readonly store?: GrantStore;
  /** Guard protected ports published by DNAT on the forward path (live runs; replay and tests leave it off). */
  readonly forward?: boolean;
  /** Wraps the backend (metrics timing). */
  readonly wrapBackend?: (backend: FirewallBackend) => FirewallBackend;
  /** Backoff between command retries (tests pass a fake). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Marks the stages of the knock → open path (KNOCKTAIL_TRACE); passed in like the clock. */
  readonly tracer?: Tracer;
  readonly closeRetryDelay?: (attempt: number) => number;
  readonly onRecord?: (record: AuditRecord) => void;
  /** Every reject, also those the audit log only summarises (metrics). */
  readonly onReject?: (door: string, reason: string) => void;
  readonly onKnockEvent?: (event: KnockEvent) => void;
  /** A single-use sequence was used here (the fleet shares those of fleet doors). */
  readonly onSequenceUsed?: (key: string, door: string) => void;
  readonly onBadLine?: (line: string, problem: string) => void;
  readonly onStaleLine?: (line: string) => void;
  readonly onError?: (error: unknown) => void;
}

export interface Knocktail {
  readonly clock: Clock;
  readonly backend: FirewallBackend;
  readonly audit: AuditSink;
  readonly engine: GrantEngine;
  readonly counters: Counters;
  readonly tracker: KnockTracker;
  /** Feed every chunk of the source through the pipeline until it ends or `signal` aborts. */
  run(signal?: AbortSignal): Promise<void>;
  /** New doors and limits (already validated): knock progress restarts, grants that no longer belong close. */
  reload(config: Config): Promise<void>;
  /** Stop the timers (pipeline and engine); queued firewall changes still run (await engine.drain()). */
  stop(): void;
}

export interface BackendParts {
  readonly runner: CommandRunner;
  /** The time a change is made at (rules carry their expiry relative to it). */
  readonly now: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Wraps the backend: the host-firewall check of setup(), metrics timing. */
  readonly wrap?: (backend: FirewallBackend) => FirewallBackend;
  /** Marks firewall requests and answers for the latency trace. */
  readonly tracer?: Tracer;
  /** Probe DNAT and guard published protected ports on the forward path too (live commands; replay with --nat). */
  readonly forward?: boolean;
}

/** The configured firewall backend: the one place one is built, for compose() and for the commands that need only a backend (rules, setup, teardown, install). */
export function buildBackend(config: Config, parts: BackendParts): FirewallBackend {
  const selected = selectBackend(
    {
      ...config.firewall,
      logPrefix: config.logPrefix,
      logAction: selectLogAction(config),
      alwaysAllow: config.limits.alwaysAllow,
      setSize: config.limits.maxGrants,
    },
    {
      runner: parts.runner,
      now: parts.now,
      forward: parts.forward === true,
      ...(parts.sleep ? { sleep: parts.sleep } : {}),
      ...(parts.tracer ? { tracer: parts.tracer } : {}),
    },
  );
  return parts.wrap ? parts.wrap(selected) : selected;
}

/** How the configured source's lines are read: knocktail's ulogd2 writes its own header, in UTC (its unit sets TZ=UTC). */
export function sourceDialect(config: Config): Pick<ParseContext, 'header' | 'zoneOffsetMinutes'> {
  return config.source === 'nflog' ? { header: 'ulogd', zoneOffsetMinutes: () => 0 } : {};
}

export function compose(config: Config, parts: Parts): Knocktail {
  const { clock } = parts;
  const counters = createCounters();
  // Backends see the time a change was asked for (engine.firewallTime), not when the queue got to it.
  let firewallTime = (): number => clock.now();
  const backend = buildBackend(config, {
    runner: parts.runner,
    ...(parts.forward === true ? { forward: true } : {}),
    now: () => firewallTime(),
    ...(parts.sleep ? { sleep: parts.sleep } : {}),
    ...(parts.wrapBackend ? { wrap: parts.wrapBackend } : {}),
    ...(parts.tracer ? { tracer: parts.tracer } : {}),
  });
  const engine = new GrantEngine({
    doors: config.doors,
    backend,
    audit: parts.audit,
    clock,
    grants: parts.saved?.grants ?? [],
    maxGrants: config.limits.maxGrants,
    ...(parts.store ? { store: parts.store } : {}),
    ...(parts.closeRetryDelay ? { closeRetryDelay: parts.closeRetryDelay } : {}),
    ...(parts.onError ? { onError: parts.onError } : {}),
    sessions: new ConntrackSessionEnder(parts.runner),
    onRecord: (record) => {
      countRecord(counters, record);
      parts.onRecord?.(record);
    },
    onReject: (door, reason) => {
      countReject(counters);
      parts.onReject?.(door, reason);
    },
  });
  firewallTime = () => engine.firewallTime();
  const referenceTime = parts.referenceTime ?? (() => clock.now());
  const { bootTime } = parts;
  const parseContext: ParseContext = {
    prefix: config.logPrefix,
    get bootTime() {
      return typeof bootTime === 'function' ? bootTime() : bootTime;
    },
    ...(config.limits.maxClockSkew === undefined ? {} : { maxClockSkew: config.limits.maxClockSkew }),
    ...sourceDialect(config),
    get referenceTime() {
      return referenceTime();
    },
    get localAddresses() {
      return parts.localAddresses?.();
    },
  };
  const buildKnocks = (doors: Config['doors'], limits: Config['limits'], usedOneTime: Iterable<string>) => {
    // Every tripwire the rules may log (ports with a local listener are left out of the rules, so they never show up here).
    const tripwires = new Set(tripwirePorts(doors, config.logPrefix).map(formatPort));
    // SPA doors have no knocks: their packets go to the SPA service, not the tracker.
    const tracker = new KnockTracker({
      doors: doors.filter((door) => !door.spa),
      limits,
      usedOneTime: new Set(usedOneTime),
      tripwires,
    });
    if (parts.onSequenceUsed) tracker.onSequenceUsed(parts.onSequenceUsed);
    const pipeline = new Pipeline({
      parseContext,
      tracker,
      grants: engine,
      clock,
      counters,
      ...(parts.onKnockEvent ? { onKnockEvent: parts.onKnockEvent } : {}),
      ...(parts.onBadLine ? { onBadLine: parts.onBadLine } : {}),
      ...(parts.onStaleLine ? { onStaleLine: parts.onStaleLine } : {}),
    });
    return { tracker, pipeline };
  };
  let knocks = buildKnocks(config.doors, config.limits, parts.saved?.usedOneTime ?? []);
  return {
    clock,
    backend,
    audit: parts.audit,
    engine,
    counters,
    get tracker() {
      return knocks.tracker;
    },
    async run(signal) {
      if (!parts.source) throw new Error('compose(): run() needs a source');
      for await (const chunk of parts.source.chunks(signal))
        await knocks.pipeline.processChunk(chunk, parts.source.takeOversized?.() ?? 0);
    },
    async reload(next) {
      knocks.pipeline.stop();
      knocks = buildKnocks(next.doors, next.limits, knocks.tracker.usedOneTimeKeys(clock.now()));
      // The firewall sets were sized at start: a raised maxGrants takes effect on restart, a lowered one now.
      await engine.setDoors(next.doors, Math.min(next.limits.maxGrants, config.limits.maxGrants));
    },
    stop() {
      knocks.pipeline.stop();
      engine.stop();
    },
  };
}
