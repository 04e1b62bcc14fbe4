import { performance } from 'node:perf_hooks';
import { logPathAdvice, type LogPathFacts } from '../canary/log-path-advice.js';
import { proveLogPath } from '../canary/log-path.js';
import type { ProveLogPath } from '../canary/arm-guard.js';
import { canaryPort } from '../firewall/canary-port.js';
import { sendCanary } from '../canary/canary-sender.js';
import type { Config } from '../config/types.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { detectContainer } from '../host/detect-container.js';
import { readNfLogAllNetns } from '../host/nf-log-all-netns.js';
import type { ChunkSource } from '../source/chunk-source.js';
import { FileFollower } from '../source/follower.js';
import { KmsgSource } from '../source/kmsg-source.js';
import { bootTime } from './wiring.js';
import { sourceDialect } from '../app/compose.js';

// The canary bound to the configured source: a fresh reader from the source's end (never the
// daemon's checkpoint), the real sender, and the facts for the advice. A new source adds its
// reader here (the switch is exhaustive over Config['source']).
function canaryReader(config: Config): { reader: ChunkSource; name: string } {
  switch (config.source) {
    case 'file':
      return {
        reader: new FileFollower({ path: config.logFile, startAt: 'end', pollIntervalMs: 50 }),
        name: config.logFile,
      };
    case 'nflog':
      return {
        reader: new FileFollower({ path: config.logFile, startAt: 'end', pollIntervalMs: 50 }),
        name: `${config.logFile} (ulogd2, NFLOG group ${config.nflog.group})`,
      };
    case 'kmsg':
      return { reader: new KmsgSource(), name: '/dev/kmsg' };
  }
}

/** The facts the advice rests on: the source, whether this is a container, nf_log_all_netns. */
export async function readLogPathFacts(config: Config): Promise<LogPathFacts> {
  return {
    source: config.source,
    logFile: config.logFile,
    container: await detectContainer(new ExecaRunner()),
    nfLogAllNetns: await readNfLogAllNetns(),
  };
}

/** The prover for this config; undefined for the dry-run backend, whose rules no packet ever meets. */
export function createLogPathProver(config: Config): ProveLogPath | undefined {
  if (config.firewall.backend === 'dry-run') return undefined;
  return () => {
    const { reader, name } = canaryReader(config);
    return proveLogPath({
      reader,
      source: name,
      port: canaryPort(config.doors, config.logPrefix),
      logPrefix: config.logPrefix,
      send: sendCanary,
      now: () => performance.now(),
      wallClock: () => Date.now(),
      bootTime: bootTime(),
      dialect: sourceDialect(config),
      advise: async () => logPathAdvice(await readLogPathFacts(config)),
    });
  };
}
