import { glanceConfig } from '../config/config-glance.js';
import { requestDaemon } from '../control/control-client.js';
import type { ControlRequest } from '../control/protocol.js';
import { formatPort } from '../model/door.js';
import type { Grant } from '../model/grant.js';
import { controlSocketPath } from '../app/state-paths.js';
import type { CommandAction } from './command-table.js';
import { configPath, writeLine } from './context.js';

// grant / revoke: ask the running daemon over its control socket (found from a tolerant glance
// at the config's stateDir: the daemon validates doors and addresses itself, so a broken config
// on disk does not get in the way); only when none runs is the config loaded and validated in
// full, to do the same work on the state file and the firewall directly.
async function ask(path: string, request: ControlRequest): Promise<{ result: unknown; daemon: boolean }> {
  const glance = await glanceConfig(path);
  const answer = glance ? await requestDaemon(controlSocketPath(glance), request) : undefined;
  if (answer !== undefined) return { result: answer, daemon: true };
  // No daemon: the full config load and the firewall code load only now.
  const { applyOffline } = await import('./control-offline.js');
  return { result: await applyOffline(path, request), daemon: false };
}

function describeGrant(grant: Grant): string {
  const until = grant.until === null ? 'until closed' : `until ${new Date(grant.until).toISOString()}`;
  return `${grant.door} open for ${grant.src}: ${grant.ports.map(formatPort).join(' ')} ${until}`;
}

export const grant: CommandAction<[string], { door: string; for?: string; config?: string }> = async (
  ctx,
  [src],
  flags,
) => {
  const { result, daemon } = await ask(configPath(ctx, flags.config), {
    op: 'grant',
    src,
    door: flags.door,
    ...(flags.for ? { for: flags.for } : {}),
  });
  writeLine(ctx.stdout, `${describeGrant(result as Grant)}${daemon ? '' : ' (no daemon running: applied directly)'}`);
  return 0;
};

export const revoke: CommandAction<[string], { door?: string; config?: string; endSessions?: boolean }> = async (
  ctx,
  [src],
  flags,
) => {
  const { result } = await ask(configPath(ctx, flags.config), {
    op: 'revoke',
    src,
    ...(flags.door ? { door: flags.door } : {}),
    ...(flags.endSessions ? { endSessions: true } : {}),
  });
  // The daemon answers with the address normalised ("2001:DB8::0:1" → "2001:db8::1").
  const { closed, src: address = src } = result as { closed: string[]; src?: string };
  if (closed.length === 0) {
    writeLine(ctx.stderr, `knocktail: ${address} holds no grant${flags.door ? ` on door ${flags.door}` : ''}`);
    return 1;
  }
  writeLine(ctx.stdout, `closed ${closed.join(', ')} for ${address}`);
  return 0;
};
