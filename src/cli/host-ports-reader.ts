import { readFile } from 'node:fs/promises';
import type { HostPorts, HostPortsReader } from '../host/host-ports.js';
import { parseListeningSockets, parsePortRange } from '../host/listening-sockets.js';
import type { ListeningSocket } from '../host/listening-sockets.js';

// The I/O half of the host-port checks: reads the kernel's socket tables and the ephemeral
// range from /proc (`procRoot` and `readText` are parameters for tests). A table that is
// absent (no IPv6) or unreadable counts as empty: the checks are advice, never a failure.
const TABLES = [
  ['tcp', 'tcp', 4],
  ['tcp6', 'tcp', 6],
  ['udp', 'udp', 4],
  ['udp6', 'udp', 6],
] as const;

export type ReadText = (path: string) => Promise<string>;

export function createHostPortsReader(options: { procRoot?: string; readText?: ReadText } = {}): HostPortsReader {
  const root = options.procRoot ?? '/proc';
  const readText: ReadText = options.readText ?? ((path) => readFile(path, 'utf8'));
  const tryRead = (path: string): Promise<string | undefined> => readText(path).catch(() => undefined);
  return {
    async read(): Promise<HostPorts> {
      const listening: ListeningSocket[] = [];
      for (const [file, proto, family] of TABLES) {
        const text = await tryRead(`${root}/net/${file}`);
        if (text !== undefined) listening.push(...parseListeningSockets(text, proto, family));
      }
      const range = await tryRead(`${root}/sys/net/ipv4/ip_local_port_range`);
      return { listening, ephemeral: range === undefined ? undefined : parsePortRange(range) };
    },
  };
}
