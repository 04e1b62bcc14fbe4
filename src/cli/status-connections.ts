import { normaliseAddress } from '../model/address.js';
import type { StatusSnapshot } from '../audit/status-view.js';
import type { CommandRunner } from '../firewall/backend.js';
import { buildConntrackListArgs, parseConntrackLine, type TrackedConnection } from '../firewall/conntrack-args.js';
import { parsePortSpec } from '../config/steps.js';

// `status`: who is in now. The connections conntrack tracks from each granted source to the
// ports its grant opened, established or on their way (a grant closed without endSessions
// leaves its connections up; they show here until they end).
export type ConnectionListing =
  | { readonly ok: true; readonly connections: readonly TrackedConnection[] }
  | { readonly ok: false; readonly reason: string };

export async function listGrantedConnections(
  grants: StatusSnapshot['grants'],
  runner: CommandRunner,
): Promise<ConnectionListing> {
  const wanted = new Map<string, Set<string>>();
  for (const grant of grants) {
    const src = normaliseAddress(grant.src);
    if (!src) continue;
    for (const text of grant.ports) {
      const key = `${src.family} ${text}`;
      (wanted.get(key) ?? wanted.set(key, new Set()).get(key)!).add(src.text);
    }
  }
  const found: TrackedConnection[] = [];
  for (const [key, sources] of wanted) {
    const [family, text] = key.split(' ') as [string, string];
    const port = parsePortSpec(text);
    if (!port) continue;
    let result;
    try {
      result = await runner.run(buildConntrackListArgs(family === '6' ? 6 : 4, port));
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    if (result.exitCode !== 0)
      return { ok: false, reason: `conntrack exited ${result.exitCode}: ${result.stderr.trim()}` };
    for (const line of result.stdout.split('\n')) {
      const connection = parseConntrackLine(line);
      const src = connection && normaliseAddress(connection.src);
      if (
        connection &&
        src &&
        sources.has(src.text) &&
        connection.state !== 'TIME_WAIT' &&
        connection.state !== 'CLOSE'
      )
        found.push({ ...connection, src: src.text });
    }
  }
  return { ok: true, connections: found };
}

/** Lines for the human status. */
export function describeConnections(listing: ConnectionListing): string[] {
  if (!listing.ok) return [`Connections from granted sources: not listed (${listing.reason})`];
  if (listing.connections.length === 0) return ['Connections from granted sources: none'];
  return [
    `Connections from granted sources (${listing.connections.length}):`,
    ...listing.connections.map(
      (c) => `  ${c.src}:${c.sport} → ${c.dst}:${c.dport} ${c.proto}${c.state ? ` ${c.state}` : ''}`,
    ),
  ];
}
