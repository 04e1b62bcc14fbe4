import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { LINKTYPE_NFLOG, readNflogFrame } from '../../src/source/nflog-frame.js';
import { PcapStreamParser } from '../../src/source/pcap-stream.js';
import { readUdpDatagram } from '../../src/source/udp-datagram.js';

// nflog-hello.pcap: `tcpdump -i nflog:62201 -U -w -` while "hello-spa" was sent to 127.0.0.1:62201 in a namespace.
const recordedCapture = readFileSync(new URL('../fixtures/spa/nflog-hello.pcap', import.meta.url));

function udp6(payload: Buffer): Buffer {
  const packet = Buffer.alloc(48 + payload.length);
  packet[0] = 0x60;
  packet.writeUInt16BE(8 + payload.length, 4);
  packet[6] = 17;
  packet[7] = 64;
  Buffer.from('20010db8000100000000000000000002', 'hex').copy(packet, 8);
  Buffer.from('20010db8000100000000000000000001', 'hex').copy(packet, 24);
  packet.writeUInt16BE(40000, 40);
  packet.writeUInt16BE(62201, 42);
  packet.writeUInt16BE(8 + payload.length, 44);
  payload.copy(packet, 48);
  return packet;
}

describe('the SPA capture path: pcap stream → NFLOG frame → UDP datagram', () => {
  test('reads the datagram tcpdump recorded, fed in any chunking', () => {
    for (const size of [1, 7, 24, 100, recordedCapture.length]) {
      const parser = new PcapStreamParser();
      const records = [];
      for (let at = 0; at < recordedCapture.length; at += size)
        records.push(...parser.push(recordedCapture.subarray(at, at + size)));
      expect(records).toHaveLength(1);
      const record = records[0]!;
      expect(record.linkType).toBe(LINKTYPE_NFLOG);
      const frame = readNflogFrame(record.data, record.littleEndian);
      expect(frame?.family).toBe(4);
      const datagram = readUdpDatagram(frame!.packet);
      expect(datagram).toMatchObject({
        src: { text: '127.0.0.1', family: 4 },
        dport: 62201,
        truncated: false,
        length: 9,
      });
      expect(datagram?.payload.toString()).toBe('hello-spa');
    }
  });

  test('an IPv6 datagram gives its source in RFC 5952 form; a cut one says so', () => {
    const packet = udp6(Buffer.from('x'.repeat(200)));
    expect(readUdpDatagram(packet)).toMatchObject({
      src: { text: '2001:db8:1::2', family: 6 },
      dport: 62201,
      length: 200,
      truncated: false,
    });
    expect(readUdpDatagram(packet.subarray(0, 100))).toMatchObject({ length: 200, truncated: true });
  });

  test('what is not pcap, NFLOG or UDP yields nothing or a clear error', () => {
    expect(() => new PcapStreamParser().push(Buffer.alloc(24, 0x41))).toThrow(/not a pcap stream/);
    expect(readNflogFrame(Buffer.from([7, 0, 0, 0]), true)).toBeUndefined();
    expect(readUdpDatagram(Buffer.from([0x45, 0, 0, 20]))).toBeUndefined();
    expect(readUdpDatagram(Buffer.alloc(40))).toBeUndefined();
  });
});
