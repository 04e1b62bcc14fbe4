import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import { KnockTracker } from '../../src/knock/tracker.js';
import {
  cidrs,
  classic,
  describeEvents,
  limits,
  makeDoor,
  ping,
  SECOND,
  ssh,
  steps,
  T0,
  tcp,
  udp,
} from './knock-fixtures.js';

const alice = '203.0.113.9';
const mallory = '203.0.113.66';

function tracker(doors = [classic, ssh], overrides: Partial<typeof limits> = {}): KnockTracker {
  return new KnockTracker({ doors, limits: { ...limits, ...overrides } });
}

// Feed packets as a live daemon would: the clock reads each packet's own time.
function feed(engine: KnockTracker, ...packets: ReturnType<typeof tcp>[]): string[] {
  return packets.flatMap((packet) => describeEvents(engine.observe(packet, packet.at)));
}

describe('KnockTracker: sequences', () => {
  test('one SYN to tcp 31600 opens the classic door and one to 31601 closes it', () => {
    const engine = tracker();
    expect(feed(engine, tcp(alice, 31600, T0))).toEqual([`completed classic ${alice}`]);
    expect(feed(engine, tcp(alice, 31601, T0 + SECOND))).toEqual([`closed classic ${alice}`]);
  });

  test('a three-step sequence reports each step and completes on the last', () => {
    const engine = tracker();
    expect(
      feed(engine, tcp(alice, 7000, T0), udp(alice, 8000, T0 + SECOND), tcp(alice, 9000, T0 + 2 * SECOND)),
    ).toEqual([`advanced open 1/3 ssh ${alice}`, `advanced open 2/3 ssh ${alice}`, `completed ssh ${alice}`]);
    expect(engine.stats().trackedSources).toBe(1); // its SYN sightings are still fresh
  });

  test('a knock out of order resets progress and may start a new attempt', () => {
    const engine = tracker();
    expect(feed(engine, tcp(alice, 7000, T0), tcp(alice, 9000, T0 + SECOND))).toEqual([
      `advanced open 1/3 ssh ${alice}`,
      `reset open out-of-order ssh ${alice}`,
    ]);
    expect(
      feed(
        engine,
        tcp(alice, 7000, T0 + 2 * SECOND),
        udp(alice, 8000, T0 + 3 * SECOND),
        tcp(alice, 9000, T0 + 4 * SECOND),
      ),
    ).toContain(`completed ssh ${alice}`);
  });

  test('the wrong step that is a first step starts over from it', () => {
    const engine = tracker();
    const events = feed(
      engine,
      tcp(alice, 7000, T0),
      udp(alice, 8000, T0 + 1),
      tcp(alice, 7000, T0 + 2),
      udp(alice, 8000, T0 + 3),
      tcp(alice, 9000, T0 + 4),
    );
    expect(events).toEqual([
      `advanced open 1/3 ssh ${alice}`,
      `advanced open 2/3 ssh ${alice}`,
      `reset open out-of-order ssh ${alice}`,
      `advanced open 1/3 ssh ${alice}`,
      `advanced open 2/3 ssh ${alice}`,
      `completed ssh ${alice}`,
    ]);
  });

  // Events come in door order (classic is configured first).
  test("a knock on another door's port resets this door's progress", () => {
    const engine = tracker();
    expect(
      feed(engine, tcp(alice, 7000, T0), tcp(alice, 31601, T0 + SECOND), udp(alice, 8000, T0 + 2 * SECOND)),
    ).toEqual([`advanced open 1/3 ssh ${alice}`, `closed classic ${alice}`, `reset open other-door ssh ${alice}`]);
  });

  test('packets to ports that are no knock port are ignored and leave nothing behind', () => {
    const engine = tracker();
    expect(
      feed(engine, tcp(alice, 7000, T0), tcp(alice, 443, T0 + 1), udp(alice, 53, T0 + 2), udp(alice, 8000, T0 + 3)),
    ).toEqual([`advanced open 1/3 ssh ${alice}`, `advanced open 2/3 ssh ${alice}`]);
    expect(feed(tracker(), tcp(mallory, 443, T0), udp(mallory, 8001, T0))).toEqual([]);
  });

  test('a UDP knock on a step that is not a first step leaves no state behind', () => {
    const engine = tracker();
    expect(feed(engine, udp(mallory, 8000, T0))).toEqual([]);
    expect(engine.stats().trackedSources).toBe(0);
    expect(engine.nextExpiry()).toBeUndefined();
  });

  test('a door with two tracks follows its open and close sequences independently', () => {
    const door = makeDoor({
      name: 'pair',
      sequence: steps('udp:5000', 'udp:5001'),
      closeSequence: steps('udp:5000', 'udp:5002'),
    });
    const engine = tracker([door]);
    expect(feed(engine, udp(alice, 5000, T0), udp(alice, 5002, T0 + 1))).toEqual([
      `advanced open 1/2 pair ${alice}`,
      `advanced close 1/2 pair ${alice}`,
      `reset open out-of-order pair ${alice}`,
      `closed pair ${alice}`,
    ]);
  });
});

describe('KnockTracker: what counts as a knock', () => {
  test('ACK, RST, FIN and SYN-ACK packets never knock', () => {
    const engine = tracker();
    for (const flags of [
      ['ACK'],
      ['RST'],
      ['RST', 'ACK'],
      ['FIN', 'ACK'],
      ['SYN', 'ACK'],
      ['SYN', 'FIN'],
      ['PSH', 'ACK'],
    ] as const) {
      expect(feed(engine, tcp(alice, 31600, T0, { flags }))).toEqual([]);
    }
    expect(engine.stats().trackedSources).toBe(0);
  });

  test('a UDP datagram knocks a udp step but a TCP SYN to the same port does not', () => {
    const engine = tracker();
    feed(engine, tcp(alice, 7000, T0));
    expect(feed(engine, tcp(alice, 8000, T0 + 1))).toEqual([]); // tcp:8000 is nobody's knock port
    expect(feed(engine, udp(alice, 8000, T0 + 2))).toEqual([`advanced open 2/3 ssh ${alice}`]);
  });

  test('an ICMP echo request knocks an icmp step, from IPv4 and from IPv6', () => {
    const door = makeDoor({ name: 'ping', sequence: steps('icmp', 'udp:6000') });
    for (const src of [alice, '2001:db8::9']) {
      const engine = tracker([door]);
      expect(feed(engine, ping(src, T0), udp(src, 6000, T0 + 1))).toEqual([
        `advanced open 1/2 ping ${src}`,
        `completed ping ${src}`,
      ]);
    }
  });

  test('echo replies and other ICMP types never knock', () => {
    const engine = tracker([makeDoor({ name: 'ping', sequence: steps('icmp') })]);
    expect(
      feed(engine, ping(alice, T0, 0), ping(alice, T0, 3), ping('2001:db8::9', T0, 129), ping('2001:db8::9', T0, 8)),
    ).toEqual([]);
  });

  test('IPv6 sources knock like IPv4 ones and carry their family', () => {
    const engine = tracker();
    const src = '2001:db8::42';
    const events = [tcp(src, 7000, T0), udp(src, 8000, T0 + 1), tcp(src, 9000, T0 + 2)].flatMap((packet) =>
      engine.observe(packet, packet.at),
    );
    expect(events.at(-1)).toEqual({ kind: 'completed', sequence: 'open', door: 'ssh', src, family: 6, at: T0 + 2 });
  });
});

describe('KnockTracker: retransmits', () => {
  test('a retransmitted SYN neither counts twice nor resets progress', () => {
    const engine = tracker();
    const first = tcp(alice, 7000, T0, { sport: 50_000 });
    const again = tcp(alice, 7000, T0 + SECOND, { sport: 50_000 });
    const againLater = tcp(alice, 7000, T0 + 3 * SECOND, { sport: 50_000 });
    expect(
      feed(engine, first, again, againLater, udp(alice, 8000, T0 + 4 * SECOND), tcp(alice, 9000, T0 + 5 * SECOND)),
    ).toEqual([`advanced open 1/3 ssh ${alice}`, `advanced open 2/3 ssh ${alice}`, `completed ssh ${alice}`]);
    expect(engine.stats().retransmits).toBe(2);
  });

  test('each retransmit refreshes the window, so a long run stays one knock', () => {
    const engine = tracker([makeDoor({ name: 'two', sequence: steps('tcp:7000', 'tcp:7000') })]);
    const run = [0, 2, 4, 6, 8].map((s) => tcp(alice, 7000, T0 + s * SECOND, { sport: 50_001 }));
    expect(feed(engine, ...run)).toEqual([`advanced open 1/2 two ${alice}`]);
    expect(feed(engine, tcp(alice, 7000, T0 + 9 * SECOND, { sport: 50_002 }))).toEqual([`completed two ${alice}`]);
  });

  test('the same source port after the window is a new knock', () => {
    const engine = tracker([makeDoor({ name: 'two', sequence: steps('tcp:7000', 'tcp:7000') })]);
    expect(
      feed(engine, tcp(alice, 7000, T0, { sport: 50_003 }), tcp(alice, 7000, T0 + 4 * SECOND, { sport: 50_003 })),
    ).toEqual([`advanced open 1/2 two ${alice}`, `completed two ${alice}`]);
  });

  test('a retransmit of a single-step knock does not open twice', () => {
    const engine = tracker();
    expect(
      feed(engine, tcp(alice, 31600, T0, { sport: 50_004 }), tcp(alice, 31600, T0 + SECOND, { sport: 50_004 })),
    ).toEqual([`completed classic ${alice}`]);
  });
});

describe('KnockTracker: time', () => {
  test('the timeout runs from the first to the last knock on packet time', () => {
    const engine = tracker();
    // The clock lags far behind the packets: only packet times decide.
    const late = [tcp(alice, 7000, T0), udp(alice, 8000, T0 + 10 * SECOND), tcp(alice, 9000, T0 + 15 * SECOND + 1)];
    expect(late.flatMap((packet) => describeEvents(engine.observe(packet, T0)))).toEqual([
      `advanced open 1/3 ssh ${alice}`,
      `advanced open 2/3 ssh ${alice}`,
      `reset open timeout ssh ${alice}`,
    ]);
    const inTime = tracker();
    const exact = [tcp(alice, 7000, T0), udp(alice, 8000, T0 + 10 * SECOND), tcp(alice, 9000, T0 + 15 * SECOND)];
    expect(exact.flatMap((packet) => describeEvents(inTime.observe(packet, T0)))).toContain(`completed ssh ${alice}`);
  });

  test('a knock after the timeout resets and is taken as a possible first knock', () => {
    const engine = tracker();
    expect(
      feed(engine, tcp(alice, 7000, T0), udp(alice, 8000, T0 + SECOND), tcp(alice, 7000, T0 + 20 * SECOND)),
    ).toEqual([
      `advanced open 1/3 ssh ${alice}`,
      `advanced open 2/3 ssh ${alice}`,
      `reset open timeout ssh ${alice}`,
      `advanced open 1/3 ssh ${alice}`,
    ]);
  });

  test('a half-done sequence expires on the clock through expire() and nextExpiry()', () => {
    const clock = new ManualClock(T0);
    const engine = tracker();
    const fired: string[] = [];
    const arm = (): void => {
      const at = engine.nextExpiry();
      if (at !== undefined)
        clock.setTimer(at, () => {
          fired.push(...describeEvents(engine.expire(clock.now())));
          arm();
        });
    };
    engine.observe(tcp(alice, 7000, T0), clock.now());
    arm();
    clock.advanceTo(T0 + 15 * SECOND);
    expect(fired).toEqual([]);
    clock.advanceTo(T0 + 16 * SECOND);
    expect(fired).toEqual([`reset open timeout ssh ${alice}`]);
    clock.advanceTo(T0 + 3600 * SECOND);
    expect(engine.stats().trackedSources).toBe(0);
    expect(engine.nextExpiry()).toBeUndefined();
  });

  test('expire() before anything is due does nothing', () => {
    const engine = tracker();
    engine.observe(tcp(alice, 7000, T0), T0);
    expect(engine.expire(T0 + SECOND)).toEqual([]);
    expect(engine.stats().trackedSources).toBe(1);
  });

  test('old lines read after a restart never advance or complete anything', () => {
    const engine = tracker();
    const now = T0 + 60 * SECOND;
    const events = [
      tcp(alice, 31600, T0),
      tcp(alice, 7000, T0 + 1),
      udp(alice, 8000, T0 + 2),
      tcp(alice, 9000, T0 + 3),
    ].flatMap((packet) => engine.observe(packet, now));
    expect(events).toEqual([]);
    expect(engine.stats()).toMatchObject({ stale: 4, trackedSources: 0 });
  });
});

describe('KnockTracker: who may knock', () => {
  test('a source outside allowFrom is rejected once per timeout window and never progresses', () => {
    const door = makeDoor({
      name: 'office',
      sequence: steps('tcp:7100', 'tcp:7200'),
      allowFrom: cidrs('198.51.100.0/24'),
    });
    const engine = tracker([door]);
    const flood = [0, 1, 2, 3].map((s) => tcp(mallory, s % 2 ? 7200 : 7100, T0 + s * SECOND));
    expect(feed(engine, ...flood)).toEqual([`rejected not-allowed office ${mallory}`]);
    expect(feed(engine, tcp(mallory, 7100, T0 + 27 * SECOND))).toEqual([`rejected not-allowed office ${mallory}`]);
    expect(feed(engine, tcp('198.51.100.7', 7100, T0), tcp('198.51.100.7', 7200, T0 + 1))).toContain(
      'completed office 198.51.100.7',
    );
  });

  test("wrong knocks, however many, never stop the source's correct sequence (a forged address cannot lock the owner out)", () => {
    const engine = tracker([classic, ssh]);
    // 22 SYNs "from" alice to wrong ports of the ssh door: anyone can send them with her address.
    const spoofed = Array.from({ length: 22 }, (_, i) => tcp(alice, i % 2 ? 9000 : 7000, T0 + i * 100));
    feed(engine, ...spoofed);
    const later = T0 + 5 * 60 * SECOND;
    expect(
      feed(engine, tcp(alice, 7000, later), udp(alice, 8000, later + SECOND), tcp(alice, 9000, later + 2 * SECOND)),
    ).toContain(`completed ssh ${alice}`);
  });

  test('a wrong knock still resets the progress of its own source, and only that', () => {
    const engine = tracker([classic, ssh]);
    feed(engine, tcp(alice, 7000, T0), tcp(mallory, 7000, T0 + 1));
    expect(feed(engine, tcp(mallory, 9000, T0 + 2))).toEqual([`reset open out-of-order ssh ${mallory}`]);
    expect(feed(engine, udp(alice, 8000, T0 + 3), tcp(alice, 9000, T0 + 4))).toEqual([
      `advanced open 2/3 ssh ${alice}`,
      `completed ssh ${alice}`,
    ]);
  });
});

describe('KnockTracker: scanners (tripwire ports)', () => {
  const tripwires = new Set(['tcp:31598', 'tcp:31599', 'tcp:31602', 'tcp:40000', 'udp:40001']);
  const hold = 120 * SECOND;

  function guarded(overrides: Partial<typeof limits> = {}): KnockTracker {
    return new KnockTracker({
      doors: [classic, ssh],
      limits: { ...limits, scannerHold: hold, ...overrides },
      tripwires,
    });
  }

  test('a tripwire hit marks its source: it completes no door, single-knock doors included, until the hold is over', () => {
    const engine = guarded();
    expect(feed(engine, tcp(mallory, 40000, T0))).toEqual([`scanner tcp:40000 ${mallory}`]);
    expect(feed(engine, tcp(mallory, 31600, T0 + SECOND))).toEqual([`rejected scanner classic ${mallory}`]);
    expect(
      feed(
        engine,
        tcp(mallory, 7000, T0 + 2 * SECOND),
        udp(mallory, 8000, T0 + 3 * SECOND),
        tcp(mallory, 9000, T0 + 4 * SECOND),
      ),
    ).toContain(`rejected scanner ssh ${mallory}`);
    expect(engine.isScanner(mallory, T0 + hold - 1)).toBe(true);
    expect(feed(engine, tcp(mallory, 31600, T0 + hold))).toEqual([`completed classic ${mallory}`]);
  });

  test('another address is never held up by a scanner, whatever the scanner sends', () => {
    const engine = guarded();
    feed(engine, tcp(mallory, 40000, T0), tcp(mallory, 31599, T0 + 1), tcp(mallory, 31600, T0 + 2));
    expect(feed(engine, tcp(alice, 31600, T0 + 3))).toEqual([`completed classic ${alice}`]);
  });

  test('each hit extends the hold from that hit', () => {
    const engine = guarded();
    feed(engine, udp(mallory, 40001, T0), tcp(mallory, 31602, T0 + 60 * SECOND));
    expect(feed(engine, tcp(mallory, 31600, T0 + hold + SECOND))).toEqual([`rejected scanner classic ${mallory}`]);
    expect(feed(engine, tcp(mallory, 31600, T0 + 60 * SECOND + hold))).toEqual([`completed classic ${mallory}`]);
  });

  test("a tripwire hit drops the scanner's partial sequences", () => {
    const engine = guarded();
    feed(engine, tcp(mallory, 7000, T0), udp(mallory, 8000, T0 + 1));
    expect(engine.inProgress(10).total).toBe(1);
    feed(engine, tcp(mallory, 31598, T0 + 2));
    expect(engine.inProgress(10).total).toBe(0);
  });

  test('a tripwire line older than the hold when read marks nothing', () => {
    const engine = guarded();
    expect(engine.observe(tcp(mallory, 40000, T0), T0 + hold)).toEqual([]);
    expect(engine.stats()).toMatchObject({ scanners: 0, tripwireHits: 0, stale: 1 });
  });

  test('marks are capped, least recently hit out first, and expire on the clock', () => {
    const engine = guarded({ maxScanners: 2 });
    feed(
      engine,
      tcp('198.51.100.1', 40000, T0),
      tcp('198.51.100.2', 40000, T0 + 1),
      tcp('198.51.100.3', 40000, T0 + 2),
    );
    expect(engine.stats().scanners).toBe(2);
    expect(engine.isScanner('198.51.100.1', T0 + 3)).toBe(false);
    expect(engine.isScanner('198.51.100.3', T0 + 3)).toBe(true);
    expect(engine.nextExpiry()).toBe(T0 + 1 + hold);
    engine.expire(T0 + 2 + hold);
    expect(engine.stats().scanners).toBe(0);
    expect(engine.nextExpiry()).toBeUndefined();
  });
});

describe('KnockTracker: one-time sequences', () => {
  const vault = makeDoor({
    name: 'vault',
    oneTimeSequences: [steps('udp:4001', 'udp:4002'), steps('udp:4003', 'udp:4004')],
  });

  test('each one-time sequence opens once, and a second use is rejected', () => {
    const engine = tracker([vault]);
    expect(feed(engine, udp(alice, 4001, T0), udp(alice, 4002, T0 + 1))).toEqual([
      `advanced open 1/2 vault ${alice}`,
      `completed vault ${alice}`,
    ]);
    expect(engine.usedOneTimeKeys()).toEqual(['once:udp:4001,udp:4002']);
    expect(feed(engine, udp(alice, 4001, T0 + 2), udp(alice, 4002, T0 + 3))).toEqual([
      `advanced open 1/2 vault ${alice}`,
      `rejected one-time-reused vault ${alice}`,
    ]);
    expect(feed(engine, udp(alice, 4003, T0 + 4), udp(alice, 4004, T0 + 5))).toContain(`completed vault ${alice}`);
  });

  test('sequences used before a restart stay used, in the old door-named keys too', () => {
    const engine = new KnockTracker({ doors: [vault], limits, usedOneTime: new Set(['vault:udp:4003,udp:4004']) });
    expect(feed(engine, udp(alice, 4003, T0), udp(alice, 4004, T0 + 1))).toContain(
      `rejected one-time-reused vault ${alice}`,
    );
    engine.markOneTimeUsed('once:udp:4001,udp:4002');
    expect(feed(engine, udp(alice, 4001, T0 + 2), udp(alice, 4002, T0 + 3))).toContain(
      `rejected one-time-reused vault ${alice}`,
    );
  });

  test('a used sequence is keyed by its knocks, not the door: a renamed door keeps it used', () => {
    const first = tracker([vault]);
    feed(first, udp(alice, 4001, T0), udp(alice, 4002, T0 + 1));
    const renamed = new KnockTracker({
      doors: [{ ...vault, name: 'strongroom' }],
      limits,
      usedOneTime: new Set(first.usedOneTimeKeys()),
    });
    expect(feed(renamed, udp(mallory, 4001, T0 + 2), udp(mallory, 4002, T0 + 3))).toContain(
      `rejected one-time-reused strongroom ${mallory}`,
    );
  });

  test('listeners hear of each sequence used here once, and not of those a peer used', () => {
    const engine = tracker([vault]);
    const heard: string[] = [];
    engine.onSequenceUsed((key, door) => heard.push(`${door} ${key}`));
    feed(engine, udp(alice, 4001, T0), udp(alice, 4002, T0 + 1), udp(alice, 4001, T0 + 2), udp(alice, 4002, T0 + 3));
    engine.markOneTimeUsed('once:udp:4003,udp:4004');
    expect(heard).toEqual(['vault once:udp:4001,udp:4002']);
    expect(engine.usedOneTimeKeys()).toEqual(['once:udp:4001,udp:4002', 'once:udp:4003,udp:4004']);
  });
});

describe('KnockTracker: sources mid-sequence', () => {
  test('lists who is part-way through which door, newest first, capped, with the total', () => {
    const engine = tracker();
    const bob = '203.0.113.10';
    feed(
      engine,
      tcp(alice, 7000, T0),
      udp(alice, 8000, T0 + SECOND),
      tcp(bob, 7000, T0 + 2 * SECOND),
      tcp(mallory, 31600, T0 + 3 * SECOND),
    );
    expect(engine.inProgress(10)).toEqual({
      total: 2,
      sources: [
        { src: bob, door: 'ssh', sequence: 'open', step: 1, of: 3, since: T0 + 2 * SECOND },
        { src: alice, door: 'ssh', sequence: 'open', step: 2, of: 3, since: T0 },
      ],
    });
    expect(engine.inProgress(1)).toEqual({ total: 2, sources: [expect.objectContaining({ src: bob })] });
  });

  test('a completed or timed-out sequence is no longer listed', () => {
    const engine = tracker();
    feed(engine, tcp(alice, 7000, T0), udp(alice, 8000, T0 + SECOND), tcp(alice, 9000, T0 + 2 * SECOND));
    expect(engine.inProgress(10).total).toBe(0);
    feed(engine, tcp(mallory, 7000, T0));
    engine.expire(T0 + 3600 * SECOND);
    expect(engine.inProgress(10)).toEqual({ total: 0, sources: [] });
  });
});
