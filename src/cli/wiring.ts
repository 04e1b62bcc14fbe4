import { uptime } from 'node:os';
import winston from 'winston';
import { SystemClock, type Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../daemon.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import type { FirewallBackend } from '../firewall/backend.js';
import { selectBackend } from '../firewall/select-backend.js';
import { withHostFirewallCheck } from '../firewall/host-firewall-check.js';
import type { CliContext } from './context.js';
import type { HostFirewallCheckOptions } from '../firewall/host-firewall-check.js';
import type { PortSpec } from '../model/door.js';
import { createHostPortsReader } from './host-ports-reader.js';

// The parts every firewall-touching command builds the same way.
// Its setup() first checks the host's own firewall (ufw, firewalld, nftables) and refuses a backend whose grants it would drop.
export function createFirewall(config: Config, clock: Clock): FirewallBackend {
  const runner = new ExecaRunner();
  const backend = selectBackend({ ...config.firewall, logPrefix: config.logPrefix, alwaysAllow: config.limits.alwaysAllow, setSize: config.limits.maxGrants }, { runner, now: () => clock.now() });
  return withHostFirewallCheck(backend, runner, hostCheckOptions(config));
}

/** How setup looks at this host: the firewall check, the refusal setting, the listening ports (/proc). */
export function hostCheckOptions(config: Config, onHost?: HostFirewallCheckOptions['onHost']): HostFirewallCheckOptions {
  const reader = createHostPortsReader();
  return {
    backend: config.firewall.backend,
    mode: config.firewall.hostFirewall ?? 'check',
    ...(config.firewall.refusal === undefined ? {} : { refusal: config.firewall.refusal }),
    listening: async () => listeningPorts((await reader.read()).listening),
    ...(onHost ? { onHost } : {}),
  };
}

/** The distinct (proto, port) pairs of listening sockets, whatever their address and family. */
export function listeningPorts(sockets: readonly PortSpec[]): PortSpec[] {
  const seen = new Map<string, PortSpec>();
  for (const socket of sockets) seen.set(`${socket.proto}:${socket.port}`, { proto: socket.proto, port: socket.port });
  return [...seen.values()];
}

export function createSystemClock(): SystemClock {
  return new SystemClock();
}

/** Epoch ms at boot, for kernel-uptime timestamps. */
export function bootTime(): number {
  return Date.now() - uptime() * 1000;
}

/** Operational log for journald: one line per message on stderr, metadata as JSON. */
export function createLogger(ctx: CliContext): Logger {
  return winston.createLogger({
    level: ctx.env['KNOCKTAIL_LOG_LEVEL'] ?? 'info',
    format: winston.format.printf(({ level, message, ...meta }) => {
      const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
      return `${level}: ${String(message)}${extra}`;
    }),
    transports: [new winston.transports.Stream({ stream: ctx.stderr })],
  });
}
