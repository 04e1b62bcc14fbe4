// The packet inside a pcap record of link type NFLOG (239): a 4-byte header (address family,
// version, resource id) and TLVs whose length and type are in the capturing host's byte order,
// each padded to 4 bytes; TLV type 9 (NFULA_PAYLOAD) holds the network-layer packet. Pure.
export const LINKTYPE_NFLOG = 239;
const NFULA_PAYLOAD = 9;
const AF_INET = 2;
const AF_INET6 = 10;

export interface NflogPacket {
  readonly family: 4 | 6;
  /** The IP packet, from its network header on. */
  readonly packet: Buffer;
}

export function readNflogFrame(frame: Buffer, littleEndian: boolean): NflogPacket | undefined {
  if (frame.length < 4) return undefined;
  const family = frame[0] === AF_INET ? 4 : frame[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  let offset = 4;
  while (offset + 4 <= frame.length) {
    const length = littleEndian ? frame.readUInt16LE(offset) : frame.readUInt16BE(offset);
    const type = (littleEndian ? frame.readUInt16LE(offset + 2) : frame.readUInt16BE(offset + 2)) & 0x7fff;
    if (length < 4 || offset + length > frame.length) return undefined;
    if (type === NFULA_PAYLOAD) return { family, packet: frame.subarray(offset + 4, offset + length) };
    offset += (length + 3) & ~3;
  }
  return undefined;
}
