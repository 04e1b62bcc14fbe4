import { describe, expect, test } from '@jest/globals';
import type { KnockProfile } from '../../src/client/client-profiles.js';
import { chooseKnockSteps, findDoor, parseClientStep, profileSteps } from '../../src/client/knock-steps.js';
import type { Door } from '../../src/model/door.js';
import { deriveSequence, windowAt } from '../../src/knock/time-based.js';
import { makeDoor } from '../support/door.js';

function door(overrides: Partial<Door>): Door {
  return makeDoor({ name: 'ssh', sequence: [], openFor: 3_600_000, closeSequence: [], ...overrides });
}

describe('chooseKnockSteps', () => {
  test('steps from the command line are parsed in order', () => {
    expect(chooseKnockSteps({ stepTexts: ['tcp:7000', 'udp:8000', 'icmp'], now: 0 })).toEqual([
      { proto: 'tcp', port: 7000 },
      { proto: 'udp', port: 8000 },
      { proto: 'icmp' },
    ]);
  });

  test('every invalid step is reported at once', () => {
    expect(() => chooseKnockSteps({ stepTexts: ['tcp:0', 'sctp:1', 'udp:80'], now: 0 })).toThrow(
      expect.objectContaining({
        code: 'USAGE',
        details: [expect.stringContaining('"tcp:0"'), expect.stringContaining('"sctp:1"')],
      }),
    );
  });

  test("a door's fixed sequence is sent as configured", () => {
    const steps = [{ proto: 'tcp' as const, port: 31600 }];
    expect(chooseKnockSteps({ stepTexts: [], door: door({ sequence: steps }), now: 0 })).toEqual(steps);
  });

  test("a time-based door sends the current window's sequence, the one the daemon derives", () => {
    const timeBased = {
      secret: 's3cret',
      length: 3,
      period: 30_000,
      portRange: [20000, 20999] as const,
      proto: 'udp' as const,
    };
    const now = 1_800_000_123_456;
    const steps = chooseKnockSteps({ stepTexts: [], door: door({ timeBased }), now });
    expect(steps).toEqual(deriveSequence(timeBased, windowAt(timeBased, now)));
    expect(steps).toHaveLength(3);
  });

  test("--close sends the door's close sequence, and needs a door that has one", () => {
    const closeSequence = [{ proto: 'tcp' as const, port: 31601 }];
    expect(
      chooseKnockSteps({
        stepTexts: [],
        door: door({ sequence: [{ proto: 'icmp' }], closeSequence }),
        close: true,
        now: 0,
      }),
    ).toEqual(closeSequence);
    expect(() =>
      chooseKnockSteps({ stepTexts: [], door: door({ sequence: [{ proto: 'icmp' }] }), close: true, now: 0 }),
    ).toThrow(/no closeSequence/);
    expect(() => chooseKnockSteps({ stepTexts: ['tcp:1'], close: true, now: 0 })).toThrow(
      /--door NAME or a profile with --close/,
    );
  });

  test('steps and --door together are refused', () => {
    expect(() =>
      chooseKnockSteps({ stepTexts: ['tcp:1'], door: door({ sequence: [{ proto: 'icmp' }] }), now: 0 }),
    ).toThrow(/either steps or --door/);
  });

  test('neither steps nor --door is refused', () => {
    expect(() => chooseKnockSteps({ stepTexts: [], now: 0 })).toThrow(/got neither/);
  });

  test('a door with only one-time sequences asks for the steps', () => {
    expect(() =>
      chooseKnockSteps({ stepTexts: [], door: door({ oneTimeSequences: [[{ proto: 'icmp' }]] }), now: 0 }),
    ).toThrow(/one-time/);
  });
});

describe('findDoor', () => {
  test('an unknown door name lists the doors there are', () => {
    expect(() => findDoor([door({ name: 'ssh' }), door({ name: 'web' })], 'sh')).toThrow(
      'Expected --door to name a door of the config ("ssh", "web"), got "sh"',
    );
  });
});

describe("knockd's step syntax", () => {
  test('bare ports are tcp, PORT:udp and PORT:tcp pick the protocol, and both syntaxes mix', () => {
    expect(chooseKnockSteps({ stepTexts: ['7000', '8000:udp', '9000:tcp', 'udp:9001', 'icmp'], now: 0 })).toEqual([
      { proto: 'tcp', port: 7000 },
      { proto: 'udp', port: 8000 },
      { proto: 'tcp', port: 9000 },
      { proto: 'udp', port: 9001 },
      { proto: 'icmp' },
    ]);
  });

  test('with udp (knock -u) bare ports are udp; an explicit protocol still wins', () => {
    expect(parseClientStep('7000', 'udp')).toEqual({ proto: 'udp', port: 7000 });
    expect(parseClientStep('7000:tcp', 'udp')).toEqual({ proto: 'tcp', port: 7000 });
    expect(chooseKnockSteps({ stepTexts: ['1', '2:tcp'], now: 0, udp: true })).toEqual([
      { proto: 'udp', port: 1 },
      { proto: 'tcp', port: 2 },
    ]);
  });

  test.each(['0', '65536', '7000:icmp', '7000:sctp', ':7000', '7000:'])(
    '%j is refused, naming both syntaxes',
    (text) => {
      expect(() => chooseKnockSteps({ stepTexts: [text], now: 0 })).toThrow(
        expect.objectContaining({
          details: [expect.stringContaining(`or knockd's "7000", "8000:udp"; ports 1-65535), got \`"${text}"\``)],
        }),
      );
    },
  );
});

describe('profileSteps', () => {
  const profile: KnockProfile = {
    kind: 'knock',
    name: 'work',
    host: '203.0.113.5',
    steps: [{ proto: 'tcp', port: 7000 }],
    closeSteps: [{ proto: 'udp', port: 9001 }],
    delayMs: 100,
  };

  test('a profile sends its steps, or with close its closeSteps', () => {
    expect(profileSteps(profile, false, 0)).toEqual([{ proto: 'tcp', port: 7000 }]);
    expect(profileSteps(profile, true, 0)).toEqual([{ proto: 'udp', port: 9001 }]);
    expect(() => profileSteps({ ...profile, closeSteps: [] }, true, 0)).toThrow('Profile "work" has no closeSteps');
  });

  test("a time-based profile sends the current window's sequence, the one the daemon derives", () => {
    const timeBased = {
      secret: 'shared',
      length: 4,
      period: 30_000,
      portRange: [30000, 30999] as const,
      proto: 'tcp' as const,
    };
    const now = 1_800_000_000_000;
    expect(profileSteps({ ...profile, steps: [], timeBased }, false, now)).toEqual(
      deriveSequence(timeBased, windowAt(timeBased, now)),
    );
  });
});
