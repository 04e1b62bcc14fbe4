import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditRecord } from '../audit/record.js';
import type { FleetLinkStatus } from '../fleet/fleet-link.js';
import { registerFleetMetrics } from './fleet-metrics.js';

// Prometheus metrics on knocktail's own registry (never prom-client's global one, so two
// daemons in one test process, or a library user, never share counts).
export type PipelineCounter =
  'lines' | 'packets' | 'malformed' | 'ignored' | 'knocks' | 'forged' | 'foreign' | 'oversized' | 'errors';

export interface MetricsGauges {
  readonly openGrants?: number;
  readonly trackedSources?: number;
  readonly scanners?: number;
  readonly lagBytes?: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly pipeline: Record<PipelineCounter, Counter>;
  private readonly synced = new Map<PipelineCounter, number>();
  private readonly opens: Counter<'door'>;
  private readonly refreshes: Counter<'door'>;
  private readonly closes: Counter<'door' | 'reason'>;
  private readonly rejected: Counter<'door' | 'reason'>;
  private readonly firewallFailures: Counter<'action'>;
  private readonly firewallSeconds: Histogram<'action'>;
  private readonly openGrants: Gauge;
  private readonly trackedSources: Gauge;
  private readonly scanners: Gauge;
  private readonly lagBytes: Gauge;
  private spaPackets: Counter<'outcome'> | undefined;
  private readonly sources: {
    counters?: () => Partial<Record<PipelineCounter, number>>;
    gauges?: () => MetricsGauges;
  } = {};

  constructor() {
    const registers = [this.registry];
    const counter = (name: string, help: string): Counter => new Counter({ name, help, registers });
    this.pipeline = {
      lines: counter('knocktail_lines_total', 'Log lines read.'),
      packets: counter('knocktail_packets_total', 'Kernel LOG lines parsed into packets.'),
      malformed: counter('knocktail_malformed_lines_total', 'Lines with the prefix that could not be parsed.'),
      ignored: counter('knocktail_ignored_lines_total', 'Lines without the knocktail prefix.'),
      knocks: counter('knocktail_knocks_total', 'Packets that counted as a knock step.'),
      forged: counter('knocktail_forged_lines_total', 'Lines with the prefix that did not come from the kernel.'),
      errors: counter('knocktail_line_errors_total', 'Lines whose processing failed unexpectedly.'),
      foreign: counter(
        'knocktail_foreign_packets_total',
        'Kernel LOG lines that are not INPUT packets for this host (OUT= set, no IN=, or DST= not one of its addresses).',
      ),
      oversized: counter(
        'knocktail_oversized_lines_total',
        'Lines longer than the line limit, dropped whole by the reader.',
      ),
    };
    this.opens = new Counter({
      name: 'knocktail_opens_total',
      help: 'Grants opened, by door.',
      labelNames: ['door'],
      registers,
    });
    this.refreshes = new Counter({
      name: 'knocktail_refreshes_total',
      help: 'Grants refreshed by a repeated knock, by door.',
      labelNames: ['door'],
      registers,
    });
    this.closes = new Counter({
      name: 'knocktail_closes_total',
      help: 'Grants closed, by door and reason.',
      labelNames: ['door', 'reason'],
      registers,
    });
    this.rejected = new Counter({
      name: 'knocktail_rejected_total',
      help: 'Completed knocks refused, by door and reason.',
      labelNames: ['door', 'reason'],
      registers,
    });
    this.firewallFailures = new Counter({
      name: 'knocktail_firewall_failures_total',
      help: 'Firewall commands that failed, by action.',
      labelNames: ['action'],
      registers,
    });
    this.firewallSeconds = new Histogram({
      name: 'knocktail_firewall_command_seconds',
      help: 'Time a firewall change took, by action.',
      labelNames: ['action'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.openGrants = new Gauge({ name: 'knocktail_open_grants', help: 'Grants open now.', registers });
    this.trackedSources = new Gauge({
      name: 'knocktail_tracked_sources',
      help: 'Sources tracked mid-sequence.',
      registers,
    });
    this.scanners = new Gauge({
      name: 'knocktail_scanners_marked',
      help: 'Sources marked as scanners (a tripwire hit within limits.scannerHold).',
      registers,
    });
    this.lagBytes = new Gauge({
      name: 'knocktail_follower_lag_bytes',
      help: 'Bytes of the knock log not read yet.',
      registers,
    });
  }

  /** Count one pipeline event (lines read, packets parsed, ...). */
  inc(name: PipelineCounter, by = 1): void {
    this.pipeline[name].inc(by);
  }

  /** Bring the pipeline counters up to the daemon's running totals (adds only the difference). */
  syncCounters(totals: Partial<Record<PipelineCounter, number>>): void {
    for (const [name, total] of Object.entries(totals) as [PipelineCounter, number | undefined][]) {
      if (!(name in this.pipeline) || total === undefined) continue;
      const delta = total - (this.synced.get(name) ?? 0);
      if (delta > 0) this.pipeline[name].inc(delta);
      this.synced.set(name, Math.max(total, this.synced.get(name) ?? 0));
    }
  }

  /** Count one SPA outcome: spaPackets (every datagram to an SPA port), spaAccepted, spaRefused.<reason>. */
  incSpa(name: string): void {
    this.spaPackets ??= new Counter({
      name: 'knocktail_spa_packets_total',
      help: 'SPA datagrams by outcome: received, accepted, or refused.<reason> (bad-hmac, stale, replayed, port-not-allowed, malformed, oversized, ...).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
    this.spaPackets.inc({
      outcome: name
        .replace(/^spa/, '')
        .replace(/^Packets$/, 'received')
        .replace(/^Accepted$/, 'accepted')
        .replace(/^Refused\./, 'refused.'),
    });
  }

  incOpen(door: string): void {
    this.opens.inc({ door });
  }

  incRefresh(door: string): void {
    this.refreshes.inc({ door });
  }

  incClose(door: string, reason: string): void {
    this.closes.inc({ door, reason });
  }

  incRejected(door: string, reason: string): void {
    this.rejected.inc({ door, reason });
  }

  incFirewallFailure(action: string): void {
    this.firewallFailures.inc({ action });
  }

  observeFirewallLatency(action: string, seconds: number): void {
    this.firewallSeconds.observe({ action }, seconds);
  }

  /** Count what an audit record says happened (the grant engine reports each one); rejects come one by one through incRejected (the audit log summarises them). */
  record(record: AuditRecord): void {
    switch (record.event) {
      case 'open':
        this.incOpen(record.door);
        break;
      case 'refresh':
        this.incRefresh(record.door);
        break;
      case 'close':
        this.incClose(record.door, record.reason);
        break;
      case 'firewall-error':
        this.incFirewallFailure(record.action);
        break;
      default:
        break;
    }
  }

  setGauges(gauges: MetricsGauges): void {
    if (gauges.openGrants !== undefined) this.openGrants.set(gauges.openGrants);
    if (gauges.trackedSources !== undefined) this.trackedSources.set(gauges.trackedSources);
    if (gauges.scanners !== undefined) this.scanners.set(gauges.scanners);
    if (gauges.lagBytes !== undefined) this.lagBytes.set(gauges.lagBytes);
  }

  /** Read the daemon's running totals at every scrape, so idle periods and timer-driven closes show too. */
  trackCounters(read: () => Partial<Record<PipelineCounter, number>>): void {
    this.sources.counters = read;
  }

  /** Read the gauges at every scrape (open grants change on expiry timers, not only on lines). */
  trackGauges(read: () => MetricsGauges): void {
    this.sources.gauges = read;
  }

  /** Expose the fleet link's state (connected, accepting, clock offset, refused messages). */
  trackFleet(read: () => FleetLinkStatus | undefined): void {
    registerFleetMetrics(this.registry, read);
  }

  /** Also expose prom-client's standard process_* and nodejs_* metrics (memory, CPU, event loop). */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    if (this.sources.counters) this.syncCounters(this.sources.counters());
    if (this.sources.gauges) this.setGauges(this.sources.gauges());
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
