import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { serviceUserIn, type ServiceUser } from '../config/file-warnings.js';
import type { BackendName } from '../config/types.js';
import type { HostFirewallProbe } from '../firewall/host-firewall-check.js';
import type { HostPortsReader } from '../host/host-ports.js';
import type { RandomInt } from '../install/knock-ports.js';
import type { CliContext } from './context.js';
import { createHostPortsReader } from './host-ports-reader.js';

// What `check-config`, `rules` and `install` learn about the host they run on: its listening
// ports and ephemeral range, its own firewall, and a random source. Tests hand in fakes
// through CliContext.host; the real ones read /proc, run `nft -j list ruleset` and use crypto.
export interface HostProbes {
  readonly ports: HostPortsReader;
  firewall(backend: BackendName): Promise<HostFirewallProbe>;
  readonly randomInt: RandomInt;
  /** The daemon's account (`knocktail` in /etc/passwd), when this host has one. */
  serviceUser(): Promise<ServiceUser | undefined>;
}

export function systemHostProbes(): HostProbes {
  return {
    ports: createHostPortsReader(),
    // Loaded on use: `install` without --now never needs the firewall code.
    async firewall(backend) {
      const [{ ExecaRunner }, { probeHostFirewall }] = await Promise.all([import('../firewall/command-runner.js'), import('../firewall/host-firewall-check.js')]);
      return probeHostFirewall(new ExecaRunner(), backend);
    },
    randomInt: (bound) => randomInt(bound),
    serviceUser: async () => serviceUserIn(await readFile('/etc/passwd', 'utf8').catch(() => '')),
  };
}

/** The context's probes, else the real ones. */
export function hostProbesOf(ctx: CliContext): HostProbes {
  return ctx.host ?? systemHostProbes();
}
