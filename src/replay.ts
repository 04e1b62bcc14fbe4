import { ManualClock } from './clock.js';
import type { AuditRecord, AuditSink } from './audit/record.js';
import type { Config } from './config/types.js';
import { countRecord, createCounters, type Counters } from './counters.js';
import { DryRunBackend } from './firewall/dry-run.js';
import { GrantManager } from './grant/grant-manager.js';
import type { Grant } from './model/grant.js';
import type { KnockEvent } from './knock/events.js';
import { KnockTracker, type TrackerStats } from './knock/tracker.js';
import { Pipeline } from './pipeline.js';
import type { ChunkSource } from './source/chunk-source.js';

// Replay: the daemon's own pipeline over recorded logs, with a clock that follows the
// log's timestamps and the dry-run firewall. Used by `knocktail replay`, the demo and the bench.
export interface ReplayOptions {
  readonly config: Config;
  readonly source: ChunkSource;
  /** Epoch ms at boot, for kernel-uptime timestamps (dmesg, /dev/kmsg). */
  readonly bootTime: number;
  /** Reference time for syslog formats without a year. */
  readonly referenceTime: number;
  /** Check no destination (`replay --any-dst`); otherwise DST= must be one of config.localAddresses, when it lists any. */
  readonly anyDestination?: boolean;
  readonly onRecord?: (record: AuditRecord) => void;
  readonly onKnockEvent?: (event: KnockEvent) => void;
  readonly onBadLine?: (line: string, problem: string) => void;
}

export interface ReplayResult {
  readonly counters: Counters;
  /** Grants still open when the log ended (they get no close record). */
  readonly openAtEnd: readonly Grant[];
  /** The firewall commands the real backend would have run. */
  readonly commands: readonly (readonly string[])[];
  /** Retransmits ignored, stale lines, evictions, bans. */
  readonly tracker: TrackerStats;
  /** The addresses DST= had to name, or 'any' when destinations were not checked. */
  readonly localAddresses: readonly string[] | 'any';
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const { config } = options;
  const clock = new ManualClock(0);
  const counters = createCounters();
  const backend = new DryRunBackend({ logPrefix: config.logPrefix, now: () => clock.now() });
  const audit: AuditSink = { write: async () => undefined, close: async () => undefined };
  const grants = new GrantManager({
    doors: config.doors,
    backend,
    audit,
    clock,
    onRecord: (record) => {
      countRecord(counters, record);
      options.onRecord?.(record);
    },
  });
  const tracker = new KnockTracker({ doors: config.doors, limits: config.limits });
  const local = options.anyDestination || config.localAddresses.length === 0 ? undefined : new Set(config.localAddresses);
  const pipeline = new Pipeline({
    parseContext: {
      prefix: config.logPrefix,
      bootTime: options.bootTime,
      referenceTime: options.referenceTime,
      maxClockSkew: config.limits.maxClockSkew,
      ...(local ? { localAddresses: local } : {}),
    },
    tracker,
    grants,
    clock,
    counters,
    advanceClock: (at) => clock.advanceTo(at),
    ...(options.onKnockEvent ? { onKnockEvent: options.onKnockEvent } : {}),
    ...(options.onBadLine ? { onBadLine: options.onBadLine } : {}),
  });
  for await (const chunk of options.source.chunks()) {
    await pipeline.processChunk(chunk, options.source.takeOversized?.() ?? 0);
  }
  pipeline.stop();
  grants.stop();
  await grants.idle();
  return { counters, openAtEnd: grants.grants(), commands: backend.commands(), tracker: tracker.stats(), localAddresses: local ? [...local] : 'any' };
}
