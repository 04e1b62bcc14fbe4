import { normaliseAddress, type Address } from '../model/address.js';

// The UDP datagram in an IPv4 or IPv6 packet (as NFLOG copies it, reassembled): source
// address, destination port and payload. Pure; undefined for anything that is not UDP.
export interface UdpDatagram {
  readonly src: Address;
  readonly dport: number;
  readonly payload: Buffer;
  /** The capture holds less than the datagram's own length says (the payload is cut). */
  readonly truncated: boolean;
  /** The datagram's payload length as its UDP header gives it. */
  readonly length: number;
}

const UDP = 17;
// IPv6 extension headers that may precede UDP in a reassembled packet: hop-by-hop, routing, destination options.
const EXTENSIONS: ReadonlySet<number> = new Set([0, 43, 60]);

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}

export function readUdpDatagram(packet: Buffer): UdpDatagram | undefined {
  if (packet.length < 1) return undefined;
  const version = packet[0]! >> 4;
  let offset: number;
  let srcText: string;
  if (version === 4) {
    const headerLength = (packet[0]! & 0x0f) * 4;
    if (headerLength < 20 || packet.length < headerLength || packet[9] !== UDP) return undefined;
    srcText = `${packet[12]}.${packet[13]}.${packet[14]}.${packet[15]}`;
    offset = headerLength;
  } else if (version === 6) {
    if (packet.length < 40) return undefined;
    srcText = ipv6Text(packet.subarray(8, 24));
    let next = packet[6]!;
    offset = 40;
    while (EXTENSIONS.has(next)) {
      if (packet.length < offset + 8) return undefined;
      next = packet[offset]!;
      offset += (packet[offset + 1]! + 1) * 8;
    }
    if (next !== UDP) return undefined;
  } else {
    return undefined;
  }
  if (packet.length < offset + 8) return undefined;
  const src = normaliseAddress(srcText);
  if (!src) return undefined;
  const length = packet.readUInt16BE(offset + 4) - 8;
  if (length < 0) return undefined;
  const available = packet.length - offset - 8;
  return {
    src,
    dport: packet.readUInt16BE(offset + 2),
    payload: packet.subarray(offset + 8, offset + 8 + Math.min(length, available)),
    truncated: available < length,
    length,
  };
}
