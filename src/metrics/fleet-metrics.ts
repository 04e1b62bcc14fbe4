import { Counter, Gauge, type Registry } from 'prom-client';
import type { FleetLinkStatus } from '../fleet/fleet-link.js';

// The fleet link's state at every scrape: whether it reaches NATS, whether it accepts fleet
// grants (false while its clock is off), its clock offset, and what it refused and why.
export function registerFleetMetrics(registry: Registry, read: () => FleetLinkStatus | undefined): void {
  const registers = [registry];
  const gauge = (name: string, help: string, value: (status: FleetLinkStatus) => number): Gauge =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const status = read();
        if (status) this.set(value(status));
      },
    });
  gauge('knocktail_fleet_connected', '1 while the fleet link reaches the NATS servers.', (status) =>
    status.connected ? 1 : 0,
  );
  gauge(
    'knocktail_fleet_accepting',
    '1 while fleet grants are applied; 0 while the clock is off by more than fleet.maxClockSkew (or not measured yet).',
    (status) => (status.accepting ? 1 : 0),
  );
  gauge(
    'knocktail_fleet_clock_offset_seconds',
    "This member's clock minus the NATS servers', as last measured.",
    (status) => (status.clockOffset ?? 0) / 1000,
  );
  gauge(
    'knocktail_fleet_duplicate_name',
    "1 while another member heartbeats under this member's name (fleet.host): the two ignore each other's grant changes.",
    (status) => (status.duplicateName ? 1 : 0),
  );
  gauge(
    'knocktail_fleet_outbox',
    'Grant changes and audit records waiting for the NATS servers.',
    (status) => status.outbox,
  );
  // Totals kept by the link, exposed as counters that advance by the difference.
  const seen = new Map<string, number>();
  const advance = (counter: Counter, key: string, total: number, labels?: Record<string, string>): void => {
    const delta = total - (seen.get(key) ?? 0);
    if (delta > 0 && labels) counter.inc(labels, delta);
    else if (delta > 0) counter.inc(delta);
    seen.set(key, total);
  };
  new Counter({
    name: 'knocktail_fleet_published_total',
    help: 'Grant changes published to the group.',
    registers,
    collect() {
      const status = read();
      if (status) advance(this, 'published', status.published);
    },
  });
  new Counter({
    name: 'knocktail_fleet_applied_total',
    help: "Other members' grant changes applied here.",
    registers,
    collect() {
      const status = read();
      if (status) advance(this, 'applied', status.applied);
    },
  });
  new Counter({
    name: 'knocktail_fleet_rejected_total',
    help: 'Fleet messages refused, by reason (unsigned, bad-signature, replayed, expired, ...).',
    labelNames: ['reason'],
    registers,
    collect() {
      const status = read();
      if (status)
        for (const [reason, total] of Object.entries(status.rejected))
          advance(this, `rejected:${reason}`, total, { reason });
    },
  });
  new Counter({
    name: 'knocktail_fleet_ignored_total',
    help: 'Fleet grant changes not applied here, by reason (no-such-door, clock-skew, past-until, ...).',
    labelNames: ['reason'],
    registers,
    collect() {
      const status = read();
      if (status)
        for (const [reason, total] of Object.entries(status.ignored))
          advance(this, `ignored:${reason}`, total, { reason });
    },
  });
}
