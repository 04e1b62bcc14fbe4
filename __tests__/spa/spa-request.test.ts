import { describe, expect, test } from '@jest/globals';
import { normaliseAddress, parseCidr, type Address, type Cidr } from '../../src/model/address.js';
import type { FkoFields } from '../../src/spa/fko-fields.js';
import { decideSpaRequest, type SpaDoor } from '../../src/spa/spa-request.js';
import { client, makeSpaDoor, NOW } from './spa-fixtures.js';

const door = makeSpaDoor({
  open: [
    { proto: 'tcp', port: 22 },
    { proto: 'udp', port: 53 },
  ],
});

function fields(overrides: Partial<FkoFields> = {}): FkoFields {
  return {
    random: '1234567890123456',
    user: 'alice',
    timestamp: NOW / 1000,
    version: '3.0.0',
    type: 1,
    message: '203.0.113.9,tcp/22',
    ...overrides,
  };
}

const decide = (f: Partial<FkoFields>, d: SpaDoor = door, src: Address = client) =>
  decideSpaRequest(d, fields(f), src, NOW);
const reason = (f: Partial<FkoFields>, d?: SpaDoor, src?: Address) => {
  const decision = decide(f, d, src);
  return decision.kind === 'refuse' ? decision.reason : 'grant';
};

describe('decideSpaRequest', () => {
  test('an access request for a door port from its own address is granted for the door’s openFor', () => {
    expect(decide({})).toEqual({
      kind: 'grant',
      address: client,
      requested: [{ proto: 'tcp', port: 22 }],
      openFor: 30_000,
    });
  });

  test('packets older or newer than maxAge are stale; within it they pass', () => {
    expect(reason({ timestamp: NOW / 1000 - 121 })).toBe('stale');
    expect(reason({ timestamp: NOW / 1000 + 121 })).toBe('stale');
    expect(reason({ timestamp: NOW / 1000 - 119 })).toBe('grant');
  });

  test('every requested port must be one of the door’s open ports', () => {
    expect(decide({ message: '203.0.113.9,tcp/22,udp/53' })).toMatchObject({
      kind: 'grant',
      requested: [
        { proto: 'tcp', port: 22 },
        { proto: 'udp', port: 53 },
      ],
    });
    expect(reason({ message: '203.0.113.9,tcp/22,tcp/2222' })).toBe('port-not-allowed');
    expect(reason({ message: '203.0.113.9' })).toBe('malformed');
    expect(reason({ message: '203.0.113.9,icmp/0' })).toBe('malformed');
  });

  test('the named address must be the source, unless the door allows NAT', () => {
    expect(reason({ message: '198.51.100.7,tcp/22' })).toBe('address-mismatch');
    const nat = { ...door, spa: { ...door.spa, allowNat: true } };
    expect(decide({ message: '198.51.100.7,tcp/22' }, nat)).toMatchObject({
      kind: 'grant',
      address: { text: '198.51.100.7', family: 4 },
    });
    expect(reason({ message: 'not-an-address,tcp/22' }, nat)).toBe('malformed');
  });

  test('0.0.0.0 (fwknop -s) opens for the source, IPv6 included, unless the door requires an explicit address', () => {
    const v6 = normaliseAddress('2001:db8:1::2') as Address;
    expect(decide({ message: '0.0.0.0,tcp/22' }, door, v6)).toMatchObject({ kind: 'grant', address: v6 });
    expect(reason({ message: '0.0.0.0,tcp/22' }, { ...door, spa: { ...door.spa, requireSourceAddress: true } })).toBe(
      'source-required',
    );
  });

  test('the client’s timeout shortens the grant but never lengthens it', () => {
    expect(decide({ type: 3, clientTimeout: 10 })).toMatchObject({ openFor: 10_000, clientTimeout: 10 });
    expect(decide({ type: 3, clientTimeout: 3600 })).toMatchObject({ openFor: 30_000, clientTimeout: 3600 });
  });

  test('NAT and command messages are not served', () => {
    expect(reason({ type: 2, natAccess: '10.0.0.5,22' })).toBe('unsupported');
    expect(reason({ type: 0 })).toBe('unsupported');
  });

  test('allowFrom limits who may send', () => {
    const limited = { ...door, allowFrom: [parseCidr('198.51.100.0/24') as Cidr] };
    expect(reason({}, limited)).toBe('not-allowed');
  });
});
