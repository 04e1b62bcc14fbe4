import { uptime } from 'node:os';
import winston from 'winston';
import { SystemClock, type Clock } from '../model/clock.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../app/daemon.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { buildBackend } from '../app/compose.js';
import type { CommandRunner, FirewallBackend } from '../firewall/backend.js';
import { withHostFirewallCheck } from '../firewall/host-firewall-check.js';
import type { CliContext } from './context.js';
import type { HostFirewallCheckOptions } from '../firewall/host-firewall-check.js';
import type { PortSpec } from '../model/door.js';
import { createHostPortsReader } from './host-ports-reader.js';

// The parts every firewall-touching command builds the same way.
// Its setup() first checks the host's own firewall (ufw, firewalld, nftables) and refuses a backend whose grants it would drop.
export function createFirewall(config: Config, clock: Clock): FirewallBackend {
  const runner = new ExecaRunner();
  return buildBackend(config, { runner, now: () => clock.now(), forward: true, wrap: hostChecked(config, runner) });
}

/** Wraps a backend so that its setup() first checks the host's own firewall (`run` and `createFirewall` alike). */
export function hostChecked(
  config: Config,
  runner: CommandRunner,
  onHost?: HostFirewallCheckOptions['onHost'],
): (backend: FirewallBackend) => FirewallBackend {
  return (backend) => withHostFirewallCheck(backend, runner, hostCheckOptions(config, onHost));
}

/** How setup looks at this host: the firewall check, the refusal setting, the listening ports (/proc). */
export function hostCheckOptions(
  config: Config,
  onHost?: HostFirewallCheckOptions['onHost'],
): HostFirewallCheckOptions {
  return {
    backend: config.firewall.backend,
    mode: config.firewall.hostFirewall ?? 'check',
    ...(config.firewall.refusal === undefined ? {} : { refusal: config.firewall.refusal }),
    listening: listeningNow(),
    ...(onHost ? { onHost } : {}),
  };
}

/** Reads the ports local services listen on (/proc), each time it is called. */
export function listeningNow(): () => Promise<PortSpec[]> {
  const reader = createHostPortsReader();
  return async () => listeningPorts((await reader.read()).listening);
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

/**
 * Epoch ms of printk's zero, as of now: the wall clock less CLOCK_MONOTONIC (process.hrtime).
 * printk stamps /dev/kmsg records with local_clock(), which stops during a suspend as
 * CLOCK_MONOTONIC does; os.uptime() is CLOCK_BOOTTIME, which counts the time asleep, and
 * would put every record after a resume in the past by that long. Read per record: a resume
 * moves it (measured here: a record's stamp and CLOCK_MONOTONIC agree within 2 ms).
 */
export function printkEpoch(): number {
  return Date.now() - Number(process.hrtime.bigint() / 1_000_000n);
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
