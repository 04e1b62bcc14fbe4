import type { CommandRunner } from '../firewall/backend.js';
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { serviceUserIn, type ServiceUser } from '../config/file-warnings.js';
import type { ProveLogPath } from '../canary/arm-guard.js';
import type { LogPathFacts } from '../canary/log-path-advice.js';
import type { BackendName, Config } from '../config/types.js';
import type { HostFirewallProbe } from '../firewall/host-firewall-check.js';
import type { ForwardPlan } from '../firewall/forward-plan.js';
import type { PortSpec } from '../model/door.js';
import type { HostPortsReader } from '../host/host-ports.js';
import type { RandomInt } from '../install/knock-ports.js';
import { createHostPortsReader } from './host-ports-reader.js';

// What `check-config`, `rules` and `install` learn about the host they run on: its listening
// ports and ephemeral range, its own firewall, and a random source. Tests hand in fakes
// through CliContext.host; the real ones read /proc, run `nft -j list ruleset` and use crypto.
export interface HostProbes {
  readonly ports: HostPortsReader;
  firewall(backend: BackendName): Promise<HostFirewallProbe>;
  readonly randomInt: RandomInt;
  /** Runs the commands `status` asks of the host (conntrack); absent = the real runner. */
  readonly runner?: CommandRunner;
  /** The container this host is (systemd-detect-virt --container), or undefined; absent in a fake: no container. */
  container?(): Promise<string | undefined>;
  /** The directory holding ulogd2's plugins (ulogd_inppkt_NFLOG.so), or undefined when ulogd2 is not installed. */
  ulogdPluginDir?(): Promise<string | undefined>;
  /** The daemon's account (`knocktail` in /etc/passwd), when this host has one. */
  serviceUser(): Promise<ServiceUser | undefined>;
  /** Why `program` cannot be run here (not on PATH, with the package to install), or undefined; absent: not looked at. */
  missingProgram?(program: string): Promise<string | undefined>;
  /** Which protected ports the host's DNAT rules publish (the DNAT probe of setup); absent: not looked at. */
  forward?(protectedPorts: readonly PortSpec[]): Promise<ForwardPlan>;
  /** The log-path canary bound to the config's source (undefined: arm without proving, as for dry-run). */
  logPath?(config: Config): Promise<ProveLogPath | undefined>;
  /** What is known of the log path before anything runs (container, nf_log_all_netns). */
  logPathFacts?(config: Config): Promise<LogPathFacts>;
}

export function systemHostProbes(): HostProbes {
  return {
    ports: createHostPortsReader(),
    // Loaded on use: `install` without --now never needs the firewall code.
    async firewall(backend) {
      const [{ ExecaRunner }, { probeHostFirewall }] = await Promise.all([
        import('../firewall/command-runner.js'),
        import('../firewall/host-firewall-check.js'),
      ]);
      return probeHostFirewall(new ExecaRunner(), backend);
    },
    randomInt: (bound) => randomInt(bound),
    async container() {
      const [{ ExecaRunner }, { detectContainer }] = await Promise.all([
        import('../firewall/command-runner.js'),
        import('../host/detect-container.js'),
      ]);
      return detectContainer(new ExecaRunner({ timeoutMs: 5000 }));
    },
    async ulogdPluginDir() {
      return (await import('../host/ulogd-plugins.js')).findUlogdPluginDir();
    },
    serviceUser: async () => serviceUserIn(await readFile('/etc/passwd', 'utf8').catch(() => '')),
    async missingProgram(program) {
      const { ExecaRunner } = await import('../firewall/command-runner.js');
      try {
        await new ExecaRunner({ timeoutMs: 5000 }).run([program, '--version']);
        return undefined;
      } catch (error) {
        return error instanceof Error ? error.message : String(error);
      }
    },
    async forward(protectedPorts) {
      const [{ ExecaRunner }, { CommandExecutor }, { probeForward }] = await Promise.all([
        import('../firewall/command-runner.js'),
        import('../firewall/command-executor.js'),
        import('../firewall/forward-probe.js'),
      ]);
      return probeForward(
        new CommandExecutor(new ExecaRunner(), { retries: 0, sleep: () => Promise.resolve() }),
        protectedPorts,
      );
    },
    // Loaded on use, as the firewall: only setup, install --now and check-config need it.
    logPath: async (config) => (await import('./log-path-prover.js')).createLogPathProver(config),
    logPathFacts: async (config) => (await import('./log-path-prover.js')).readLogPathFacts(config),
  };
}

/** The context's probes, else the real ones. */
export function hostProbesOf(ctx: { readonly host?: HostProbes | undefined }): HostProbes {
  return ctx.host ?? systemHostProbes();
}
