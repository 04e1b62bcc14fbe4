import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import type { CommandResult, CommandRunner } from '../../src/firewall/backend.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import { ConntrackSessionEnder } from '../../src/grant/session-ender.js';
import type { KnockEvent } from '../../src/knock/events.js';
import { makeDoor } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';

// Ending a closed grant's connections: conntrack -D through the one runner, after the
// grant's rule is gone, audited as sessions-ended.
const T0 = Date.parse('2026-11-24T12:00:00Z');
const cutting = makeDoor({ name: 'ssh', openFor: 60_000, endSessions: true, open: [{ proto: 'tcp', port: 22 }] });
const keeping = makeDoor({
  name: 'web',
  openFor: 60_000,
  sequence: [{ proto: 'tcp', port: 8000 }],
  open: [
    { proto: 'tcp', port: 443 },
    { proto: 'udp', port: 443 },
  ],
});

function completed(door: string, src: string, family: 4 | 6 = 4): KnockEvent {
  return { kind: 'completed', sequence: 'open', door, src, family, at: T0 };
}

function setup(
  answer: (argv: readonly string[]) => CommandResult = () => ({
    exitCode: 0,
    stdout: '',
    stderr: 'conntrack v1.4.8 (conntrack-tools): 2 flow entries have been deleted.\n',
  }),
) {
  const timeline: string[] = [];
  const commands: string[] = [];
  const runner: CommandRunner = {
    run: (argv) => {
      timeline.push(`run ${argv.join(' ')}`);
      commands.push(argv.join(' '));
      return Promise.resolve(answer(argv));
    },
  };
  const clock = new ManualClock(T0);
  const audit = new MemoryAudit(timeline);
  const engine = new GrantEngine({
    doors: [cutting, keeping],
    backend: new FakeBackend(timeline),
    audit,
    clock,
    sessions: new ConntrackSessionEnder(runner),
  });
  return { engine, clock, audit, timeline, commands };
}

describe('ending sessions when a grant closes', () => {
  test('a door with endSessions: its grant expires, the rule goes, then the source’s conntrack entries to the open ports, audited', async () => {
    const { engine, clock, audit, timeline } = setup();
    await engine.handle(completed('ssh', '203.0.113.9'));
    clock.advanceTo(T0 + 60_000);
    await engine.drain();
    expect(timeline.slice(-4)).toEqual([
      'audit close ssh 203.0.113.9',
      'firewall close ssh 203.0.113.9',
      'run conntrack -D -f ipv4 -s 203.0.113.9 -p tcp --dport 22',
      'audit sessions-ended ssh 203.0.113.9',
    ]);
    expect(audit.records.at(-1)).toEqual({
      event: 'sessions-ended',
      door: 'ssh',
      src: '203.0.113.9',
      ports: ['tcp:22'],
      ended: 2,
      command: [['conntrack', '-D', '-f', 'ipv4', '-s', '203.0.113.9', '-p', 'tcp', '--dport', '22']],
      at: '2026-11-24T12:01:00.000Z',
    });
  });

  test('a door without it keeps connections on close; revoke with endSessions ends them, per open port and family', async () => {
    const { engine, audit, commands } = setup((argv) => ({
      exitCode: 1,
      stdout: '',
      stderr: `conntrack v1.4.8 (conntrack-tools): 0 flow entries have been deleted.\n${argv.join(' ')}`,
    }));
    await engine.handle(completed('web', '2001:db8::7', 6));
    await engine.handle(completed('web', '203.0.113.10'));
    await engine.close('web', '203.0.113.10', 'revoked');
    await engine.drain();
    expect(commands).toEqual([]);
    await engine.closeSource('2001:db8::7', 'revoked', { endSessions: true });
    await engine.drain();
    expect(commands).toEqual([
      'conntrack -D -f ipv6 -s 2001:db8::7 -p tcp --dport 443',
      'conntrack -D -f ipv6 -s 2001:db8::7 -p udp --dport 443',
    ]);
    // Nothing matched: conntrack exits 1 with "0 flow entries", which is no error.
    expect(audit.records.at(-1)).toMatchObject({ event: 'sessions-ended', src: '2001:db8::7', ended: 0 });
    expect(audit.records.at(-1)).not.toHaveProperty('errors');
  });

  test('a conntrack that fails (missing, no permission) is audited with why, and the grant is closed all the same', async () => {
    const { engine, audit } = setup(() => ({
      exitCode: 2,
      stdout: '',
      stderr: 'conntrack v1.4.8 (conntrack-tools): Operation failed: Operation not permitted\n',
    }));
    await engine.handle(completed('ssh', '203.0.113.9'));
    await engine.close('ssh', '203.0.113.9', 'revoked');
    await engine.drain();
    expect(engine.grants()).toEqual([]);
    expect(audit.records.at(-1)).toMatchObject({
      event: 'sessions-ended',
      ended: 0,
      errors: [
        'tcp:22: conntrack exited 2: conntrack v1.4.8 (conntrack-tools): Operation failed: Operation not permitted',
      ],
    });
  });
});
