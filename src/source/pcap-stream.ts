// Splits a pcap byte stream (as `tcpdump -w -` writes it) into records: the 24-byte global
// header (its magic gives the byte order and the time unit), then per record a 16-byte header
// and the captured bytes. Pure and incremental: chunks in, whole records out; a stream that is
// not pcap, or a record longer than the snapshot length allows, ends it with an error.
export interface PcapRecord {
  /** Epoch ms. */
  readonly at: number;
  /** The link-layer type of the capture (239 = NFLOG). */
  readonly linkType: number;
  readonly littleEndian: boolean;
  readonly data: Buffer;
  /** The packet's length on the wire (more than data.length when the capture cut it). */
  readonly wireLength: number;
}

const MAX_RECORD_BYTES = 262_144;

export class PcapStreamParser {
  private pending: Buffer = Buffer.alloc(0);
  private header: { littleEndian: boolean; nanos: boolean; linkType: number } | undefined;

  /** The records completed by this chunk; throws on a stream that is not pcap. */
  push(chunk: Buffer): PcapRecord[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const records: PcapRecord[] = [];
    let offset = 0;
    if (!this.header) {
      if (this.pending.length < 24) return records;
      this.header = readGlobalHeader(this.pending);
      offset = 24;
    }
    const { littleEndian, nanos, linkType } = this.header;
    const u32 = (at: number): number => (littleEndian ? this.pending.readUInt32LE(at) : this.pending.readUInt32BE(at));
    while (this.pending.length - offset >= 16) {
      const captured = u32(offset + 8);
      if (captured > MAX_RECORD_BYTES)
        throw new Error(`pcap record of ${captured} bytes, more than ${MAX_RECORD_BYTES}`);
      if (this.pending.length - offset - 16 < captured) break;
      const at = u32(offset) * 1000 + Math.floor(u32(offset + 4) / (nanos ? 1_000_000 : 1000));
      const data = Buffer.from(this.pending.subarray(offset + 16, offset + 16 + captured));
      records.push({ at, linkType, littleEndian, data, wireLength: u32(offset + 12) });
      offset += 16 + captured;
    }
    this.pending = this.pending.subarray(offset);
    return records;
  }
}

function readGlobalHeader(bytes: Buffer): { littleEndian: boolean; nanos: boolean; linkType: number } {
  const magic = bytes.readUInt32LE(0);
  const forms: Record<number, { littleEndian: boolean; nanos: boolean }> = {
    0xa1b2c3d4: { littleEndian: true, nanos: false },
    0xa1b23c4d: { littleEndian: true, nanos: true },
    0xd4c3b2a1: { littleEndian: false, nanos: false },
    0x4d3cb2a1: { littleEndian: false, nanos: true },
  };
  const form = forms[magic];
  if (!form) throw new Error(`not a pcap stream (magic 0x${magic.toString(16)})`);
  const linkType = form.littleEndian ? bytes.readUInt32LE(20) : bytes.readUInt32BE(20);
  return { ...form, linkType: linkType & 0x0fffffff };
}
