import { join } from 'node:path';
import type { Config } from '../config/types.js';
import { CONTROL_SOCKET_NAME } from '../control/protocol.js';

// Where the daemon keeps its state and control socket, for the daemon and for the CLI
// commands that must find them without loading the daemon's code.
const STATE_FILE = 'state.json';
const FOLLOWER_FILE = 'follower.json';
const FLEET_OUTBOX_FILE = 'fleet-outbox.json';
const SPA_REPLAY_FILE = 'spa-replay.journal';

/** The files the daemon replaces atomically in stateDir; the temp files a crash left of them are removed at start. */
export const ATOMIC_STATE_FILES: readonly string[] = [STATE_FILE, FOLLOWER_FILE, FLEET_OUTBOX_FILE, SPA_REPLAY_FILE];

export function stateFilePath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, STATE_FILE);
}

/** Where the follower keeps its position in logFile. */
export function followerCheckpointPath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, FOLLOWER_FILE);
}

/** A fleet member's unpublished grant changes (src/fleet/outbox-file.ts). */
export function fleetOutboxPath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, FLEET_OUTBOX_FILE);
}

export function controlSocketPath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, CONTROL_SOCKET_NAME);
}

/** Digests of the SPA packets already used (src/spa/replay-file.ts). */
export function spaReplayPath(config: Pick<Config, 'stateDir'>): string {
  return join(config.stateDir, SPA_REPLAY_FILE);
}
