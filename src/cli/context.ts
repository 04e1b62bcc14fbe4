import type { Readable, Writable } from 'node:stream';
import type { HostProbes } from './host-probes.js';

// Everything a command may take from the process, handed in by main.ts (the only file
// that touches process.*), so commands are testable with fake streams and env.
export interface CliContext {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean };
  /** Read by the commands that take `-` for a file (`audit --file -`). */
  readonly stdin?: Readable;
  /** Resolves when SIGINT/SIGTERM arrives; SIGHUP calls the reload hooks. */
  readonly signals: {
    onStop(fn: () => void): void;
    onReload(fn: () => void): void;
  };
  /** What commands read about the host (ports, firewall, randomness); absent = the real host. */
  readonly host?: HostProbes;
}

export const DEFAULT_CONFIG_PATH = '/etc/knocktail/config.json';

/** --config, else KNOCKTAIL_CONFIG, else /etc/knocktail/config.json. */
export function configPath(ctx: CliContext, option: string | undefined): string {
  return option ?? ctx.env['KNOCKTAIL_CONFIG'] ?? DEFAULT_CONFIG_PATH;
}

export function writeLine(stream: Writable, text = ''): void {
  stream.write(`${text}\n`);
}

// Colour for people at a terminal only; NO_COLOR set to anything but "" turns it off there too (no-color.org).
export function useColor(ctx: CliContext): boolean {
  return ctx.stdout.isTTY === true && (ctx.env['NO_COLOR'] ?? '') === '';
}
