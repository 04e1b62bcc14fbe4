import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import type { HostPorts } from '../../src/host/host-ports.js';
import { checkKnockPortsAgainstHost } from '../../src/config/port-warnings.js';
import { chooseKnockPorts, knockPortPool } from '../../src/install/knock-ports.js';
import { makeDoor } from '../support/door.js';

const HOST: HostPorts = {
  listening: [
    { proto: 'tcp', family: 4, address: '0.0.0.0', port: 8080 },
    { proto: 'udp', family: 6, address: '::', port: 5353 },
    { proto: 'tcp', family: 6, address: '::', port: 22 },
  ],
  ephemeral: [32768, 60999],
};

// A scripted source: returns the given draws in turn (each reduced modulo the bound).
function scripted(draws: readonly number[]): (bound: number) => number {
  let i = 0;
  return (bound) => draws[i++ % draws.length]! % bound;
}

describe('chooseKnockPorts', () => {
  test('the same random draws give the same ports', () => {
    const draws = [123, 45_678, 9, 31_000];
    expect(chooseKnockPorts(HOST, scripted(draws))).toEqual(chooseKnockPorts(HOST, scripted(draws)));
  });

  test('the draws index the pool of free unprivileged ports outside the ephemeral range', () => {
    // Draw 0 takes the pool's first port, then the next ones (a partial Fisher-Yates shuffle).
    expect(chooseKnockPorts(HOST, () => 0)).toEqual({ sequence: [1024, 1025, 1026], close: 1027 });
    const pool = knockPortPool(HOST);
    expect(pool[0]).toBe(1024);
    expect(pool.at(-1)).toBe(65535);
    expect(pool).not.toContain(32768);
    expect(pool).not.toContain(60999);
    expect(pool).toContain(32767);
    expect(pool).toContain(61000);
  });

  test('every choice is four distinct ports, never listened on, outside the ephemeral range and above 1023', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1024, max: 65535 }),
        fc.integer({ min: 0, max: 30000 }),
        (draws, low, width) => {
          const host: HostPorts = { ...HOST, ephemeral: [low, Math.min(65535, low + width)] };
          const { sequence, close } = chooseKnockPorts(host, scripted(draws), { avoid: [22] });
          const all = [...sequence, close];
          expect(sequence).toHaveLength(3);
          expect(new Set(all).size).toBe(4);
          for (const port of all) {
            expect(port).toBeGreaterThanOrEqual(1024);
            expect(port < host.ephemeral![0] || port > host.ephemeral![1]).toBe(true);
            expect([8080, 5353, 22]).not.toContain(port);
          }
        },
      ),
    );
  });

  test('a skeleton door built from the choice draws no check-config warning on the same host', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 4, maxLength: 4 }), (draws) => {
        const { sequence, close } = chooseKnockPorts(HOST, scripted(draws), { avoid: [22] });
        const door = makeDoor({
          sequence: sequence.map((port) => ({ proto: 'tcp' as const, port })),
          closeSequence: [{ proto: 'tcp', port: close }],
        });
        expect(checkKnockPortsAgainstHost([door], HOST)).toEqual([]);
      }),
    );
  });

  test('without a readable ephemeral range the Linux default 32768-60999 is kept clear', () => {
    const { sequence, close } = chooseKnockPorts({ listening: [], ephemeral: undefined }, scripted([40_000, 1, 2, 3]));
    for (const port of [...sequence, close]) expect(port < 32768 || port > 60999).toBe(true);
  });

  test('a source that answers outside its bound is a bug, not a silent bad port', () => {
    expect(() => chooseKnockPorts(HOST, () => -1)).toThrow(/random source returned -1/);
  });
});
