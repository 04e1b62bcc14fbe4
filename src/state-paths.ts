import { join } from 'node:path';
import type { Config } from './config/types.js';
import { CONTROL_SOCKET_NAME } from './control/protocol.js';

// Where the daemon keeps its state and control socket, for the daemon and for the CLI
// commands that must find them without loading the daemon's code.
export function stateFilePath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, 'state.json');
}

export function controlSocketPath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, CONTROL_SOCKET_NAME);
}
