import { describe, expect, test } from '@jest/globals';
import { buildTripwireMatcher, tripwirePorts, withoutPorts } from '../../src/model/tripwires.js';
import { makeDoor } from '../support/door.js';

const classic = makeDoor();
const timed = makeDoor({
  name: 'timed',
  sequence: [],
  closeSequence: [],
  oneTimeSequences: [[{ proto: 'udp', port: 7200 }]],
  timeBased: { secret: 's', length: 3, period: 30_000, portRange: [40000, 40100], proto: 'udp' },
  open: [{ proto: 'tcp', port: 443 }],
});

describe('tripwirePorts', () => {
  test('the two neighbours on each side of every knock port are tripwires, the knock ports themselves are not', () => {
    const names = tripwirePorts([classic], 'knocktail: ').map((p) => `${p.proto}:${p.port}`);
    // 31600 and 31601 are neighbours of each other and both knock ports: neither is a tripwire.
    expect(names).toEqual(expect.arrayContaining(['tcp:31598', 'tcp:31599', 'tcp:31602', 'tcp:31603']));
    expect(names).not.toContain('tcp:31600');
    expect(names).not.toContain('tcp:31601');
    expect(names).not.toContain('tcp:22');
  });

  test('a time-based range gets neighbours at both ends and no tripwire inside it; one-time steps get neighbours', () => {
    const ports = tripwirePorts([timed], 'x');
    const names = ports.map((p) => `${p.proto}:${p.port}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'udp:39998',
        'udp:39999',
        'udp:40101',
        'udp:40102',
        'udp:7198',
        'udp:7199',
        'udp:7201',
        'udp:7202',
      ]),
    );
    expect(ports.filter((p) => p.proto === 'udp' && p.port >= 40000 && p.port <= 40100)).toEqual([]);
    expect(names).not.toContain('tcp:443');
  });

  test('one far tcp port in each of the 63 stripes of 1024–65535 and a udp port in every fourth, all in range', () => {
    const ports = tripwirePorts([], 'knocktail: ');
    const tcp = ports.filter((p) => p.proto === 'tcp');
    const udp = ports.filter((p) => p.proto === 'udp');
    expect(tcp).toHaveLength(63);
    expect(udp).toHaveLength(16);
    expect(new Set(tcp.map((p) => Math.floor((p.port - 1024) / 1024))).size).toBe(63);
    expect(udp.map((p) => Math.floor((p.port - 1024) / 1024) % 4)).toEqual(Array(16).fill(0));
    for (const p of ports) {
      expect(p.port).toBeGreaterThanOrEqual(1024);
      expect(p.port).toBeLessThanOrEqual(65535);
    }
  });

  test('the same seed gives the same ports, another seed other ports', () => {
    expect(tripwirePorts([classic], 'a: ')).toEqual(tripwirePorts([classic], 'a: '));
    expect(tripwirePorts([classic], 'a: ')).not.toEqual(tripwirePorts([classic], 'b: '));
  });

  test('no port any door uses is a tripwire, even when a far port would land on it', () => {
    const far = tripwirePorts([], 'seed').filter((p) => p.proto === 'tcp')[5]!;
    const door = makeDoor({
      sequence: [{ proto: 'tcp', port: far.port }],
      closeSequence: [],
      open: [{ proto: 'tcp', port: far.port + 10 }],
    });
    const names = tripwirePorts([door], 'seed').map((p) => `${p.proto}:${p.port}`);
    expect(names).not.toContain(`tcp:${far.port}`);
    expect(names).toContain(`tcp:${far.port + 1}`);
  });

  test('neighbours of port 1 and 65535 stay inside 1–65535', () => {
    const edge = makeDoor({ sequence: [{ proto: 'udp', port: 1 }], closeSequence: [{ proto: 'udp', port: 65535 }] });
    const udp = tripwirePorts([edge], 's').filter((p) => p.proto === 'udp' && (p.port < 4 || p.port > 65532));
    expect(udp.map((p) => p.port)).toEqual([2, 3, 65533, 65534]);
  });

  test('the list is sorted, tcp first, and free of duplicates', () => {
    const ports = tripwirePorts([classic, timed], 'knocktail: ');
    const names = ports.map((p) => `${p.proto}:${p.port}`);
    expect(new Set(names).size).toBe(names.length);
    const tcpCount = ports.filter((p) => p.proto === 'tcp').length;
    expect(ports.slice(0, tcpCount).every((p) => p.proto === 'tcp')).toBe(true);
    for (let i = 1; i < ports.length; i++)
      if (ports[i]!.proto === ports[i - 1]!.proto) expect(ports[i]!.port).toBeGreaterThan(ports[i - 1]!.port);
  });
});

describe('withoutPorts and buildTripwireMatcher', () => {
  test('a port with a local listener is left out, matched by protocol and port', () => {
    const ports = tripwirePorts([classic], 'k');
    const rest = withoutPorts(ports, [
      { proto: 'tcp', port: 31599 },
      { proto: 'udp', port: 31602 },
    ]);
    expect(rest.map((p) => `${p.proto}:${p.port}`)).not.toContain('tcp:31599');
    expect(rest.map((p) => `${p.proto}:${p.port}`)).toContain('tcp:31602');
    expect(rest).toHaveLength(ports.length - 1);
  });

  test('the matcher says whether a logged packet hit a tripwire', () => {
    const isTripwire = buildTripwireMatcher(tripwirePorts([classic], 'k'));
    expect(isTripwire('tcp', 31599)).toBe(true);
    expect(isTripwire('udp', 31599)).toBe(false);
    expect(isTripwire('tcp', 31600)).toBe(false);
    expect(isTripwire('icmp', undefined)).toBe(false);
    expect(isTripwire('tcp', undefined)).toBe(false);
  });
});
