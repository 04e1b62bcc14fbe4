import { LogClock } from '../model/clock.js';
import type { AuditRecord, AuditSink } from '../audit/record.js';
import { compose } from './compose.js';
import type { Config } from '../config/types.js';
import type { Counters } from './counters.js';
import { SimulatedFirewall, type SimulatedCommand } from '../firewall/simulated-firewall.js';
import type { Grant } from '../model/grant.js';
import type { KnockEvent } from '../knock/events.js';
import type { TrackerStats } from '../knock/tracker.js';
import type { ChunkSource } from '../source/chunk-source.js';

// Replay: the daemon's composition over recorded logs, with the log clock and the configured
// backend against a simulated firewall. Used by `knocktail replay`, the demo and the bench.
export interface ReplayOptions {
  readonly config: Config;
  readonly source: ChunkSource;
  /** Epoch ms at boot, for kernel-uptime timestamps (dmesg, /dev/kmsg). */
  readonly bootTime: number;
  /** Reference time for syslog formats without a year: an upper bound of the log's times (see log-reference.ts). */
  readonly referenceTime: number;
  /** Check no destination (`replay --any-dst`); otherwise DST= must be one of config.localAddresses, when it lists any. */
  readonly anyDestination?: boolean;
  readonly onRecord?: (record: AuditRecord) => void;
  readonly onKnockEvent?: (event: KnockEvent) => void;
  readonly onBadLine?: (line: string, problem: string) => void;
  /** A packet line older than its door's timeout (counted as stale, never used). */
  readonly onStaleLine?: (line: string) => void;
  /** Every firewall command the live daemon would run (argv, or a session line as `input`), at log time. */
  readonly onCommand?: (command: SimulatedCommand, at: number) => void;
  /** A host's `iptables -t nat -S` (`replay --nat`): the DNAT probe runs on it and the forward twin is simulated too. */
  readonly nat?: string;
}

export interface ReplayResult {
  readonly counters: Counters;
  /** Grants still open when the log ended (they get no close record). */
  readonly openAtEnd: readonly Grant[];
  /** Retransmits ignored, stale lines, evictions, bans. */
  readonly tracker: TrackerStats;
  /** The addresses DST= had to name, or 'any' when destinations were not checked. */
  readonly localAddresses: readonly string[] | 'any';
}

const NO_AUDIT: AuditSink = { write: () => Promise.resolve(), close: () => Promise.resolve() };

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const clock = new LogClock(0);
  const { onCommand } = options;
  // The simulated kernel and the reported command times follow the engine's firewall time (the log time of each change).
  let firewallTime = (): number => clock.now();
  const now = (): number => firewallTime();
  const runner = new SimulatedFirewall({
    now,
    ...(onCommand ? { onCommand: (command: SimulatedCommand) => onCommand(command, now()) } : {}),
    ...(options.nat === undefined ? {} : { nat: options.nat }),
  });
  const local =
    options.anyDestination || options.config.localAddresses.length === 0
      ? undefined
      : new Set(options.config.localAddresses);
  const knocktail = compose(options.config, {
    clock,
    runner,
    forward: options.nat !== undefined,
    audit: NO_AUDIT,
    source: options.source,
    bootTime: options.bootTime,
    ...(local ? { localAddresses: () => local } : {}),
    // Fixed for the whole replay: an upper bound of the log's times (findReferenceTime), so a
    // line's year and the future-timestamp check never depend on the lines before it.
    referenceTime: () => options.referenceTime,
    ...(options.onRecord ? { onRecord: options.onRecord } : {}),
    ...(options.onKnockEvent ? { onKnockEvent: options.onKnockEvent } : {}),
    ...(options.onBadLine ? { onBadLine: options.onBadLine } : {}),
    ...(options.onStaleLine ? { onStaleLine: options.onStaleLine } : {}),
  });
  firewallTime = () => knocktail.engine.firewallTime();
  // As the daemon does at start; with --commands the guard's rules are the first lines shown.
  await knocktail.backend.setup(options.config.doors);
  await knocktail.run();
  knocktail.stop();
  await knocktail.engine.drain();
  await knocktail.backend.stop?.();
  return {
    counters: knocktail.counters,
    openAtEnd: knocktail.engine.grants(),
    tracker: knocktail.tracker.stats(),
    localAddresses: local ? [...local] : 'any',
  };
}
