import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { resolvePath } from './resolve-path.js';
import { isRecord } from '../model/is-record.js';

// A first, tolerant look at the config file: only what the CLI needs to find a running daemon
// (stateDir) and to show the offline status (backend, alwaysAllow). JSON.parse and nothing else,
// so a config the daemon would refuse at its next reload does not stop `status`, `grant` or
// `revoke` from reaching the daemon that runs now; the full load happens only offline.
export interface ConfigGlance {
  /** Resolved against the config file's directory, as the full load does. */
  readonly stateDir: string;
  readonly backend: string;
  /** limits.alwaysAllow as written (the strings only). */
  readonly alwaysAllow: readonly string[];
}

/** The schema's defaults (a test keeps them equal to schema.json's). */
export const DEFAULT_STATE_DIR = '/var/lib/knocktail';
export const DEFAULT_BACKEND = 'iptables';

/**
 * What `path` says about stateDir, backend and alwaysAllow; undefined when the file cannot be
 * read, is not a JSON object, or its stateDir is not a non-empty string (the full load then says why).
 */
export async function glanceConfig(path: string): Promise<ConfigGlance | undefined> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(data)) return undefined;
  const root = data;
  const stateDir = root['stateDir'] ?? DEFAULT_STATE_DIR;
  if (typeof stateDir !== 'string' || stateDir === '') return undefined;
  const firewall = isRecord(root['firewall']) ? root['firewall'] : {};
  const limits = isRecord(root['limits']) ? root['limits'] : {};
  const backend = typeof firewall['backend'] === 'string' ? firewall['backend'] : DEFAULT_BACKEND;
  const allow = Array.isArray(limits['alwaysAllow']) ? limits['alwaysAllow'] : [];
  return {
    stateDir: resolvePath(dirname(resolve(path)), stateDir),
    backend,
    alwaysAllow: allow.filter((item): item is string => typeof item === 'string'),
  };
}
