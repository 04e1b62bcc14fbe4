import ipaddr from 'ipaddr.js';
import type { Family } from '../model/address.js';

// What local services listen on, read from the kernel's socket tables (/proc/net/tcp, tcp6,
// udp, udp6). Pure: the caller reads the files; a malformed line is skipped, never thrown.
export interface ListeningSocket {
  readonly proto: 'tcp' | 'udp';
  readonly family: Family;
  /** Normalised local address ("0.0.0.0" and "::" for every address). */
  readonly address: string;
  readonly port: number;
}

// TCP_LISTEN; an unconnected UDP socket (TCP_CLOSE, 07) is UDP's listener. Connected
// sockets (01) are clients or accepted connections and are not listeners.
const LISTENING_STATE = { tcp: '0A', udp: '07' } as const;

// The kernel prints each 32-bit word of the address in host (little-endian) byte order.
function decodeAddress(hex: string, family: Family): string | undefined {
  if (hex.length !== (family === 4 ? 8 : 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    for (let i = 6; i >= 0; i -= 2) bytes.push(Number.parseInt(hex.slice(word + i, word + i + 2), 16));
  }
  const parsed = ipaddr.fromByteArray(bytes);
  return parsed.kind() === 'ipv6' ? (parsed as ipaddr.IPv6).toRFC5952String() : parsed.toString();
}

/** The listening sockets in one /proc/net table (`proto` and `family` say which table it is). */
export function parseListeningSockets(text: string, proto: 'tcp' | 'udp', family: Family): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n')) {
    // "  sl  local_address rem_address   st …" then "   0: 00000000:1F90 00000000:0000 0A …"
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || !/^\d+:$/.test(fields[0]!) || fields[3] !== LISTENING_STATE[proto]) continue;
    const [addressHex, portHex] = fields[1]!.split(':');
    if (addressHex === undefined || portHex === undefined || !/^[0-9A-Fa-f]{4}$/.test(portHex)) continue;
    const address = decodeAddress(addressHex, family);
    const port = Number.parseInt(portHex, 16);
    if (address === undefined || port === 0) continue;
    sockets.push({ proto, family, address, port });
  }
  return sockets;
}

/** "tcp 0.0.0.0:8080", "udp6 [::]:5353": how `ss -l` would name the socket. */
export function formatListeningSocket(socket: ListeningSocket): string {
  const table = `${socket.proto}${socket.family === 6 ? '6' : ''}`;
  const address = socket.family === 6 ? `[${socket.address}]` : socket.address;
  return `${table} ${address}:${socket.port}`;
}

/** The range in /proc/sys/net/ipv4/ip_local_port_range ("32768\t60999"), or undefined when malformed. */
export function parsePortRange(text: string): readonly [number, number] | undefined {
  const match = /^\s*(\d{1,5})\s+(\d{1,5})\s*$/.exec(text);
  if (!match) return undefined;
  const low = Number(match[1]);
  const high = Number(match[2]);
  return low >= 1 && low <= high && high <= 65535 ? [low, high] : undefined;
}
