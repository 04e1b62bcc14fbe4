import { describe, expect, test } from '@jest/globals';
import { checkKnockPortsAgainstHost } from '../../src/config/port-warnings.js';
import type { HostPorts } from '../../src/host/host-ports.js';
import { makeDoor } from '../support/door.js';

const HOST: HostPorts = {
  listening: [
    { proto: 'tcp', family: 4, address: '0.0.0.0', port: 8080 },
    { proto: 'tcp', family: 6, address: '::', port: 8080 },
    { proto: 'udp', family: 4, address: '127.0.0.1', port: 5353 },
    { proto: 'tcp', family: 6, address: '::', port: 22 },
  ],
  ephemeral: [32768, 60999],
};

describe('checkKnockPortsAgainstHost', () => {
  test('a knock port a local service listens on is named by its JSON path and the listening address', () => {
    const door = makeDoor({
      sequence: [
        { proto: 'tcp', port: 7000 },
        { proto: 'tcp', port: 8080 },
      ],
      closeSequence: [{ proto: 'udp', port: 5353 }],
    });
    expect(checkKnockPortsAgainstHost([door], HOST)).toEqual([
      'doors[0].sequence[1]: tcp:8080 is a port a local service listens on (tcp 0.0.0.0:8080, tcp6 [::]:8080); the guard drops new connections to knock ports, so that service would be cut off',
      'doors[0].closeSequence[0]: udp:5353 is a port a local service listens on (udp 127.0.0.1:5353); the guard drops new connections to knock ports, so that service would be cut off',
    ]);
  });

  test('the protocol must match: a udp knock on a port tcp listens on is no collision', () => {
    expect(
      checkKnockPortsAgainstHost([makeDoor({ sequence: [{ proto: 'udp', port: 8080 }, { proto: 'icmp' }] })], HOST),
    ).toEqual([]);
  });

  test('one-time sequences are checked with their own path', () => {
    const door = makeDoor({
      sequence: [{ proto: 'tcp', port: 7000 }],
      oneTimeSequences: [
        [{ proto: 'tcp', port: 7001 }],
        [
          { proto: 'tcp', port: 7002 },
          { proto: 'tcp', port: 8080 },
        ],
      ],
    });
    expect(checkKnockPortsAgainstHost([makeDoor({ name: 'other' }), door], HOST)[0]).toMatch(
      /^doors\[1\]\.oneTimeSequences\[1\]\[1\]: tcp:8080 is a port/,
    );
  });

  test('a knock port in the ephemeral range is a warning, and so is a range overlapping it', () => {
    const fixed = makeDoor({ sequence: [{ proto: 'tcp', port: 40000 }] });
    expect(checkKnockPortsAgainstHost([fixed], HOST)).toEqual([
      'doors[0].sequence[0]: tcp:40000 lies in the ephemeral port range 32768-60999 (net.ipv4.ip_local_port_range); a program that binds a random port may get a knock port, and the guard then drops new connections to it',
    ]);
    const timed = makeDoor({
      timeBased: { secret: 's', length: 3, period: 30_000, portRange: [30000, 33000], proto: 'tcp' },
    });
    expect(checkKnockPortsAgainstHost([timed], HOST)).toEqual([
      expect.stringMatching(
        /^doors\[0\]\.timeBased\.portRange: tcp:30000-33000 overlaps the ephemeral port range 32768-60999/,
      ),
    ]);
  });

  test('a time-based range over a quarter of all ports, with listeners in it, gets one warning per problem', () => {
    const timed = makeDoor({
      timeBased: { secret: 's', length: 3, period: 30_000, portRange: [1, 20000], proto: 'tcp' },
    });
    expect(checkKnockPortsAgainstHost([timed], HOST)).toEqual([
      'doors[0].timeBased.portRange: tcp:1-20000 covers ports local services listen on (tcp 0.0.0.0:8080, tcp6 [::]:8080, tcp6 [::]:22); the guard drops new connections to knock ports, so that service would be cut off',
      'doors[0].timeBased.portRange: tcp:1-20000 covers 20000 ports, more than a quarter of all ports; the guard hides every one of them and random scans land in it often (a range of a few thousand ports is plenty)',
    ]);
  });

  test('exactly a quarter of all ports is not too many, and a long list of listeners is shortened', () => {
    const listening = Array.from({ length: 7 }, (_, i) => ({
      proto: 'udp' as const,
      family: 4 as const,
      address: '0.0.0.0',
      port: 2000 + i,
    }));
    const timed = makeDoor({
      timeBased: { secret: 's', length: 3, period: 30_000, portRange: [1024, 1024 + 16383], proto: 'udp' },
    });
    expect(checkKnockPortsAgainstHost([timed], { listening, ephemeral: undefined })).toEqual([
      expect.stringContaining('(udp 0.0.0.0:2000, udp 0.0.0.0:2001, udp 0.0.0.0:2002, udp 0.0.0.0:2003 and 3 more)'),
    ]);
  });

  test('a host with nothing in the way gives no warnings', () => {
    expect(
      checkKnockPortsAgainstHost([makeDoor({ sequence: [{ proto: 'tcp', port: 7000 }] })], {
        listening: [],
        ephemeral: undefined,
      }),
    ).toEqual([]);
  });
});
