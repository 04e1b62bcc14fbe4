import type { Config, FleetConfig } from '../config/types.js';
import { KnocktailError } from '../model/errors.js';
import { fleetAuditSource, readFleetStatus, renderFleetStatus } from '../fleet/fleet-views.js';
import { connectNats } from '../fleet/nats-transport.js';
import type { ChunkSource } from '../source/chunk-source.js';
import { writeLine, type CliContext } from './context.js';

// `status --fleet` and `audit --fleet`: one short-lived NATS connection, read-only.
function fleetOf(config: Config): FleetConfig {
  if (!config.fleet) throw new KnocktailError('USAGE', 'Expected a config with a "fleet" block for --fleet, got none');
  return config.fleet;
}

export async function runFleetStatus(ctx: CliContext, config: Config, json: boolean): Promise<void> {
  const fleet = fleetOf(config);
  const nc = await connectNats(fleet, `knocktail status ${fleet.group}/${fleet.host}`);
  try {
    const view = await readFleetStatus(nc, fleet, Date.now);
    writeLine(
      ctx.stdout,
      json
        ? JSON.stringify(view)
        : renderFleetStatus(view, {
            color: ctx.stdout.isTTY === true && ctx.env['NO_COLOR'] === undefined,
            now: Date.now(),
          }),
    );
  } finally {
    await nc.close();
  }
}

/** Runs `query` over the group's audit stream; resolves to how many records failed verification. */
export async function withFleetAudit(config: Config, query: (source: ChunkSource) => Promise<void>): Promise<number> {
  const fleet = fleetOf(config);
  const nc = await connectNats(fleet, `knocktail audit ${fleet.group}/${fleet.host}`);
  const stats = { unverified: 0 };
  try {
    await query(fleetAuditSource(nc, fleet, undefined, stats));
  } finally {
    await nc.close();
  }
  return stats.unverified;
}
