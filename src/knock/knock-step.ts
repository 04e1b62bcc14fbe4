import type { Packet } from '../parse/packet.js';

// Which knock a packet is, as formatStep() spells it ("tcp:7000", "udp:8000", "icmp"), or undefined.
// Only a bare SYN counts for TCP: RST, FIN and anything with ACK belong to other conversations
// (knockd counted every TCP packet, so a scan's RSTs could knock).
export function knockStepOf(packet: Packet): string | undefined {
  switch (packet.proto) {
    case 'tcp': {
      const { flags } = packet;
      if (!flags.has('SYN') || flags.has('ACK') || flags.has('RST') || flags.has('FIN')) return undefined;
      return packet.dport === undefined ? undefined : `tcp:${packet.dport}`;
    }
    case 'udp':
      return packet.dport === undefined ? undefined : `udp:${packet.dport}`;
    case 'icmp':
      return packet.icmpType === 8 ? 'icmp' : undefined;
    case 'icmpv6':
      return packet.icmpType === 128 ? 'icmp' : undefined;
    default:
      return undefined;
  }
}
