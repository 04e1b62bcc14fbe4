import { parseCidr } from '../model/address.js';
import { renderStatus, statusGrant, type StatusSnapshot } from '../audit/status-view.js';
import { glanceConfig, type ConfigGlance } from '../config/config-glance.js';
import { requestDaemon } from '../control/control-client.js';
import { findCorruptCopies, loadState } from '../grant/state-file.js';
import type { Grant } from '../model/grant.js';
import { controlSocketPath, stateFilePath } from '../app/state-paths.js';
import type { CommandAction } from './command-table.js';
import { configPath, useColor, writeLine, type CliContext } from './context.js';
import { describeConnections, listGrantedConnections, type ConnectionListing } from './status-connections.js';

// `knocktail status`: the running daemon's snapshot over its control socket; with no daemon,
// the grants of the state file. It reads only the config's stateDir, backend and alwaysAllow
// (a tolerant glance, no validation: check-config does that), so a config being edited never
// hides the daemon's status, and the command loads neither the validator nor firewall code.
export const status: CommandAction<[], { json?: boolean; fleet?: boolean; config?: string }> = async (
  ctx,
  _args,
  flags,
) => {
  const path = configPath(ctx, flags.config);
  if (flags.fleet) {
    const config = await (await import('../config/load-config.js')).loadConfig(path);
    await (await import('./fleet.js')).runFleetStatus(ctx, config, flags.json === true);
    return 0;
  }
  const glance = (await glanceConfig(path)) ?? (await fullGlance(path));
  const answer = (await requestDaemon(controlSocketPath(glance), { op: 'status' })) as StatusSnapshot | undefined;
  const daemon = answer !== undefined;
  // Without a daemon the snapshot comes from the state file (startedAt empty: rendered as not running).
  const snapshot = answer ?? (await offlineStatus(glance));
  // A daemon's snapshot is read over the socket as it comes: grants listed only when they are a list.
  const connections =
    Array.isArray(snapshot.grants) && snapshot.grants.length > 0 ? await listConnections(ctx, snapshot) : undefined;
  if (flags.json) {
    writeLine(
      ctx.stdout,
      JSON.stringify({
        daemon,
        ...snapshot,
        ...(connections
          ? { connections: connections.ok ? connections.connections : { error: connections.reason } }
          : {}),
      }),
    );
  } else {
    writeLine(ctx.stdout, renderStatus(snapshot, { color: useColor(ctx), now: Date.now() }));
    if (connections) for (const line of describeConnections(connections)) writeLine(ctx.stdout, line);
  }
  return 0;
};

// An unreadable or non-JSON config: the full loader's error names the problem (and its line).
async function fullGlance(path: string): Promise<ConfigGlance> {
  const config = await (await import('../config/load-config.js')).loadConfig(path);
  return {
    stateDir: config.stateDir,
    backend: config.firewall.backend,
    alwaysAllow: config.limits.alwaysAllow.map((cidr) => cidr.text),
  };
}

async function offlineStatus(glance: ConfigGlance): Promise<StatusSnapshot> {
  const path = stateFilePath(glance);
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
    backend: glance.backend,
    backendHealthy: error === '',
    grants: grants.map(statusGrant),
    trackedSources: 0,
    counters: {},
    pendingCloses: [],
    // Normalised as the daemon prints them; an entry check-config would refuse is shown as written.
    alwaysAllow: glance.alwaysAllow.map((text) => parseCidr(text)?.text ?? text),
    // A state file the daemon moved aside (or one it will move aside at its next start).
    ...(corrupt || error
      ? {
          stateRecovery: {
            at: corrupt ? corrupt.slice(corrupt.lastIndexOf('.corrupt-') + 9) : '',
            movedTo: corrupt ?? '',
            error: error || 'the daemon found the state file unusable and moved it aside',
          },
        }
      : {}),
  };
}

// Loaded only when there are grants: the runner is firewall code.
async function listConnections(ctx: CliContext, snapshot: StatusSnapshot): Promise<ConnectionListing> {
  const runner =
    ctx.host?.runner ?? new (await import('../firewall/command-runner.js')).ExecaRunner({ timeoutMs: 5_000 });
  return listGrantedConnections(snapshot.grants, runner);
}
