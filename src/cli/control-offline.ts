import { createAuditLog } from '../audit/audit-log.js';
import { compose } from '../app/compose.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { GrantController } from '../control/controller.js';
import type { ControlRequest } from '../control/protocol.js';
import { stateFilePath } from '../app/state-paths.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { StateStore } from '../grant/state-store.js';
import { loadState, saveState, type PersistedState } from '../grant/state-file.js';
import { withFirewallLock } from '../firewall/firewall-lock.js';
import { bootTime, createSystemClock } from './wiring.js';

// grant / revoke with no daemon running: the config loaded and validated in full, then the
// same composition as the daemon (without a source) applies the one change, under the
// firewall lock, to the state file and the firewall directly.
export async function applyOffline(path: string, request: ControlRequest): Promise<unknown> {
  const config = await loadConfig(path);
  return withFirewallLock(config.stateDir, { holder: `knocktail ${request.op}` }, () => offline(config, request));
}

async function offline(config: Config, request: ControlRequest): Promise<unknown> {
  const state = await loadState(stateFilePath(config));
  const clock = createSystemClock();
  const audit = createAuditLog(config.auditLog, { backend: config.firewall.backend });
  let snapshot: () => PersistedState = () => state;
  const store = new StateStore<PersistedState>({
    clock,
    snapshot: () => snapshot(),
    save: (next) => saveState(stateFilePath(config), next),
    onError: () => undefined,
  });
  // The same composition as the daemon, without a source: one change, then the state is written once.
  const knocktail = compose(config, {
    clock,
    runner: new ExecaRunner(),
    forward: true,
    audit,
    bootTime: bootTime(),
    saved: state,
    store,
  });
  snapshot = () => ({ version: 1, grants: knocktail.engine.grants(), usedOneTime: state.usedOneTime });
  try {
    const controller = new GrantController({
      grants: knocktail.engine,
      doors: () => config.doors,
      limits: () => config.limits,
      status: () => undefined,
    });
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
