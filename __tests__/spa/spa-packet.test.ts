import { describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { openSpaPacket, sealSpaPacket } from '../../src/spa/spa-packet.js';
import { bytes, packet, recorded, recordedKeys } from './spa-fixtures.js';

const door = { name: 'spa', keys: recordedKeys };
const wrong = { name: 'other', keys: { encryption: randomBytes(32), hmac: randomBytes(64) } };

describe('openSpaPacket with packets recorded from fwknop-client 2.6.10', () => {
  test.each(recorded.packets.filter((p) => p.name !== 'other-hmac-key'))(
    'reads the $name packet as the client reported it',
    (p) => {
      const opened = openSpaPacket(bytes(p), [door]);
      expect(opened.kind).toBe('opened');
      if (opened.kind !== 'opened') return;
      expect(opened.fields).toMatchObject({
        timestamp: p.timestamp,
        type: p.messageType,
        message: p.message,
        user: p.user,
        version: '3.0.0',
      });
      expect(opened.fields.clientTimeout).toBe(p.clientTimeout === 0 ? undefined : p.clientTimeout);
      expect(opened.digest).toMatch(/^[0-9a-f]{64}$/);
    },
  );

  test('the NAT packet carries its internal address', () => {
    const opened = openSpaPacket(bytes(packet('nat-access')), [door]);
    expect(opened.kind === 'opened' && opened.fields.natAccess).toBe('198.51.100.5,22');
  });

  test('a packet made with another HMAC key is refused at the HMAC', () => {
    expect(openSpaPacket(bytes(packet('other-hmac-key')), [door])).toEqual({ kind: 'bad-hmac' });
  });

  test('the door whose key matches is chosen among doors sharing the port', () => {
    const opened = openSpaPacket(bytes(packet('access')), [wrong, door]);
    expect(opened.kind === 'opened' && opened.candidate.name).toBe('spa');
  });

  test('any changed byte fails the HMAC', () => {
    const original = bytes(packet('access'));
    for (const at of [0, 10, 100, original.length - 44, original.length - 1]) {
      const tampered = Buffer.from(original);
      tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
      expect(openSpaPacket(tampered, [door]).kind).toBe('bad-hmac');
    }
  });

  test('size and shape are checked before any key', () => {
    expect(openSpaPacket(Buffer.alloc(10 * 1024, 0x41), [door])).toEqual({ kind: 'oversized', bytes: 10240 });
    expect(openSpaPacket(Buffer.from('short'), [door]).kind).toBe('malformed');
    expect(openSpaPacket(Buffer.alloc(200, 0x2a), [door])).toEqual({ kind: 'malformed', problem: 'not base64 text' });
    expect(openSpaPacket(Buffer.from(`U2FsdGVkX1${packet('access').packet}`), [door])).toEqual({
      kind: 'malformed',
      problem: 'starts with the Rijndael prefix',
    });
  });

  test('sealSpaPacket makes packets the reader takes back field for field', () => {
    const fields = {
      random: '1234567890123456',
      user: 'alice',
      timestamp: 1_800_000_000,
      version: '3.0.0',
      type: 3,
      message: '198.51.100.7,tcp/22',
      clientTimeout: 60,
    };
    const opened = openSpaPacket(sealSpaPacket(fields, recordedKeys), [door]);
    expect(opened.kind === 'opened' && opened.fields).toEqual(fields);
  });

  test('the same fields sealed twice are two packets with two digests (random salt)', () => {
    const fields = {
      random: '1234567890123456',
      user: 'alice',
      timestamp: 1_800_000_000,
      version: '3.0.0',
      type: 1,
      message: '198.51.100.7,tcp/22',
    };
    const [a, b] = [sealSpaPacket(fields, recordedKeys), sealSpaPacket(fields, recordedKeys)].map((p) =>
      openSpaPacket(p, [door]),
    );
    expect(a?.kind === 'opened' && b?.kind === 'opened' && a.digest !== b.digest).toBe(true);
  });
});
