import { renderStatus, statusGrant, type StatusSnapshot } from '../audit/status-view.js';
import { loadConfig } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import { requestDaemon } from '../control/control-client.js';
import { findCorruptCopies, loadState } from '../grant/state-file.js';
import type { Grant } from '../model/grant.js';
import { controlSocketPath, stateFilePath } from '../state-paths.js';
import type { CommandAction } from './command-table.js';
import { configPath, useColor, writeLine } from './context.js';

// `knocktail status`: the running daemon's snapshot over its control socket; with no daemon,
// the grants of the state file. Kept apart from grant/revoke so it loads no firewall code.
export const status: CommandAction<[], { json?: boolean; fleet?: boolean; config?: string }> = async (ctx, _args, flags) => {
  const config = await loadConfig(configPath(ctx, flags.config));
  if (flags.fleet) {
    await (await import('./fleet.js')).runFleetStatus(ctx, config, flags.json === true);
    return 0;
  }
  const answer = (await requestDaemon(controlSocketPath(config), { op: 'status' })) as StatusSnapshot | undefined;
  const daemon = answer !== undefined;
  // Without a daemon the snapshot comes from the state file (startedAt empty: rendered as not running).
  const snapshot = answer ?? (await offlineStatus(config));
  if (flags.json) {
    writeLine(ctx.stdout, JSON.stringify({ daemon, ...snapshot }));
  } else {
    writeLine(ctx.stdout, renderStatus(snapshot, { color: useColor(ctx), now: Date.now() }));
  }
  return 0;
};

async function offlineStatus(config: Config): Promise<StatusSnapshot> {
  const path = stateFilePath(config);
  const corrupt = (await findCorruptCopies(path)).at(-1);
  let grants: readonly Grant[] = [];
  let error = '';
  try {
    grants = (await loadState(path)).grants;
  } catch (problem) {
    error = problem instanceof Error ? problem.message : String(problem);
  }
  return {
    startedAt: '',
    backend: config.firewall.backend,
    backendHealthy: error === '',
    grants: grants.map(statusGrant),
    trackedSources: 0,
    counters: {},
    pendingCloses: [],
    alwaysAllow: config.limits.alwaysAllow.map((cidr) => cidr.text),
    // A state file the daemon moved aside (or one it will move aside at its next start).
    ...(corrupt || error
      ? { stateRecovery: { at: corrupt ? corrupt.slice(corrupt.lastIndexOf('.corrupt-') + 9) : '', movedTo: corrupt ?? '', error: error || 'the daemon found the state file unusable and moved it aside' } }
      : {}),
  };
}
