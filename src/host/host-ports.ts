import type { ListeningSocket } from './listening-sockets.js';

// The host's port facts that knock ports must keep clear of: what local services listen
// on, and the range the kernel hands out for outgoing connections and random binds.
export interface HostPorts {
  readonly listening: readonly ListeningSocket[];
  /** net.ipv4.ip_local_port_range (also used for IPv6), inclusive; undefined when unreadable. */
  readonly ephemeral: readonly [number, number] | undefined;
}

// Reads the facts; the real one reads /proc (cli/host-ports-reader.ts), tests pass captured samples.
export interface HostPortsReader {
  read(): Promise<HostPorts>;
}

/** Linux's default net.ipv4.ip_local_port_range, for a target system that cannot be read (a staging root). */
export const LINUX_DEFAULT_EPHEMERAL: readonly [number, number] = [32768, 60999];
