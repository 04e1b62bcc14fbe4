import { createAuditLog } from '../audit/audit-log.js';
import { compose } from '../compose.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { requestDaemon } from '../control/control-client.js';
import { GrantController } from '../control/controller.js';
import type { ControlRequest } from '../control/protocol.js';
import { controlSocketPath, stateFilePath } from '../state-paths.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { StateStore } from '../grant/state-store.js';
import type { Grant } from '../model/grant.js';
import { loadState, saveState, type PersistedState } from '../grant/state-file.js';
import { formatPort } from '../model/door.js';
import { withFirewallLock } from '../firewall/firewall-lock.js';
import { configPath, writeLine } from './context.js';
import type { CommandAction } from './command-table.js';
import { bootTime, createSystemClock } from './wiring.js';

// grant / revoke: ask the running daemon over its control socket; when none
// runs, do the same work on the state file and the firewall directly.
async function ask(config: Config, request: ControlRequest): Promise<{ result: unknown; daemon: boolean }> {
  const answer = await requestDaemon(controlSocketPath(config), request);
  if (answer !== undefined) return { result: answer, daemon: true };
  // Without a daemon this process changes the firewall itself: under the firewall lock.
  return { result: await withFirewallLock(config.stateDir, { holder: `knocktail ${request.op}` }, () => offline(config, request)), daemon: false };
}

async function offline(config: Config, request: ControlRequest): Promise<unknown> {
  const state = await loadState(stateFilePath(config));
  const clock = createSystemClock();
  const audit = createAuditLog(config.auditLog, { backend: config.firewall.backend });
  let snapshot: () => PersistedState = () => state;
  const store = new StateStore({ clock, snapshot: () => snapshot(), save: (next) => saveState(stateFilePath(config), next), onError: () => undefined });
  // The same composition as the daemon, without a source: one change, then the state is written once.
  const knocktail = compose(config, { clock, runner: new ExecaRunner(), audit, bootTime: bootTime(), saved: state, store });
  snapshot = () => ({ version: 1, grants: knocktail.engine.grants(), usedOneTime: state.usedOneTime });
  try {
    const controller = new GrantController({ grants: knocktail.engine, doors: () => config.doors, limits: () => config.limits, status: () => undefined });
    const result = await controller.handle(request);
    await knocktail.engine.drain();
    return result;
  } finally {
    knocktail.stop();
    await store.flush().catch(() => undefined);
    await knocktail.backend.stop?.();
    await audit.close();
  }
}

function describeGrant(grant: Grant): string {
  const until = grant.until === null ? 'until closed' : `until ${new Date(grant.until).toISOString()}`;
  return `${grant.door} open for ${grant.src}: ${grant.ports.map(formatPort).join(' ')} ${until}`;
}

export const grant: CommandAction<[string], { door: string; for?: string; config?: string }> = async (ctx, [src], flags) => {
  const config = await loadConfig(configPath(ctx, flags.config));
  const { result, daemon } = await ask(config, { op: 'grant', src, door: flags.door, ...(flags.for ? { for: flags.for } : {}) });
  writeLine(ctx.stdout, `${describeGrant(result as Grant)}${daemon ? '' : ' (no daemon running: applied directly)'}`);
  return 0;
};

export const revoke: CommandAction<[string], { door?: string; config?: string }> = async (ctx, [src], flags) => {
  const config = await loadConfig(configPath(ctx, flags.config));
  const { result } = await ask(config, { op: 'revoke', src, ...(flags.door ? { door: flags.door } : {}) });
  // The daemon answers with the address normalised ("2001:DB8::0:1" → "2001:db8::1").
  const { closed, src: address = src } = result as { closed: string[]; src?: string };
  if (closed.length === 0) {
    writeLine(ctx.stderr, `knocktail: ${address} holds no grant${flags.door ? ` on door ${flags.door}` : ''}`);
    return 1;
  }
  writeLine(ctx.stdout, `closed ${closed.join(', ')} for ${address}`);
  return 0;
};
