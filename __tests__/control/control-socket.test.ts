import { afterEach, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/model/clock.js';
import { requestDaemon } from '../../src/control/control-client.js';
import { ControlServer } from '../../src/control/control-server.js';
import { GrantController } from '../../src/control/controller.js';
import { KnocktailError } from '../../src/model/errors.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import { makeDoor, testLimits } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';

const ssh = makeDoor({ name: 'ssh', sequence: [{ proto: 'tcp', port: 7000 }], openFor: 3_600_000, closeSequence: [] });
const limits = testLimits;

function controller() {
  const clock = new ManualClock(Date.parse('2026-11-24T12:00:00Z'));
  const backend = new FakeBackend();
  const audit = new MemoryAudit();
  const grants = new GrantEngine({ doors: [ssh], backend, audit, clock });
  return {
    backend,
    audit,
    grants,
    controller: new GrantController({
      grants,
      doors: () => [ssh],
      limits: () => limits,
      status: () => ({ grants: grants.grants().length }),
    }),
  };
}

describe('GrantController', () => {
  test('grant opens the door for a normalised address, audited as manual', async () => {
    const { controller: c, audit, backend } = controller();
    await c.handle({ op: 'grant', src: '2001:0db8:0000:0000:0000:0000:0000:0009', door: 'ssh', for: '30m' });
    await Promise.resolve();
    expect(audit.records[0]).toMatchObject({
      event: 'open',
      src: '2001:db8::9',
      by: 'manual',
      until: '2026-11-24T12:30:00.000Z',
    });
    expect(backend.calls).toEqual(['open ssh 2001:db8::9']);
  });

  test('grant refuses a bad address, an unknown door, a bad duration and a duration over the cap', async () => {
    const { controller: c } = controller();
    await expect(c.handle({ op: 'grant', src: 'example.org', door: 'ssh' })).rejects.toThrow(
      /Expected an IPv4 or IPv6 address, got `"example.org"`/,
    );
    await expect(c.handle({ op: 'grant', src: '203.0.113.9', door: 'web' })).rejects.toMatchObject({
      code: 'USAGE',
      message: 'Expected --door to name a door of the config ("ssh"), got `"web"` (string)',
    });
    await expect(c.handle({ op: 'grant', src: '203.0.113.9', door: 'ssh', for: 'soon' })).rejects.toThrow(
      /duration like "30m"/,
    );
    await expect(c.handle({ op: 'grant', src: '203.0.113.9', door: 'ssh', for: '2d' })).rejects.toThrow(
      /at most 1d \(limits.maxOpenFor\)/,
    );
    await expect(c.handle({ op: 'grant', src: '203.0.113.9', door: 'ssh', for: 'until-closed' })).rejects.toThrow(
      /at most 1d/,
    );
  });

  test('without --for an until-closed door is granted for limits.maxOpenFor, never without end', async () => {
    const clock = new ManualClock(Date.parse('2026-11-24T12:00:00Z'));
    const audit = new MemoryAudit();
    const classic = makeDoor();
    const grants = new GrantEngine({ doors: [classic], backend: new FakeBackend(), audit, clock });
    const c = new GrantController({ grants, doors: () => [classic], limits: () => testLimits, status: () => null });
    await c.handle({ op: 'grant', src: '203.0.113.9', door: 'classic' });
    expect(audit.records[0]).toMatchObject({ event: 'open', until: '2026-11-25T12:00:00.000Z' });
  });

  test('revoke without --door closes every grant of the address, also one of a door the config no longer has', async () => {
    const clock = new ManualClock(Date.parse('2026-11-24T12:00:00Z'));
    const audit = new MemoryAudit();
    const gone = makeDoor({ name: 'gone' });
    const grants = new GrantEngine({
      doors: [ssh],
      backend: new FakeBackend(),
      audit,
      clock,
      grants: [{ door: 'gone', src: '203.0.113.9', family: 4, ports: gone.open, openedAt: 0, until: null }],
    });
    const c = new GrantController({ grants, doors: () => [ssh], limits: () => testLimits, status: () => null });
    await c.handle({ op: 'grant', src: '203.0.113.9', door: 'ssh' });
    expect(await c.handle({ op: 'revoke', src: '203.0.113.9' })).toEqual({
      src: '203.0.113.9',
      closed: ['gone', 'ssh'],
    });
    expect(grants.grants()).toEqual([]);
    await expect(c.handle({ op: 'revoke', src: '203.0.113.9', door: 'gone' })).rejects.toMatchObject({ code: 'USAGE' });
  });

  test('revoke --door of a door the config no longer has still closes the grant', async () => {
    const clock = new ManualClock(Date.parse('2026-11-24T12:00:00Z'));
    const grants = new GrantEngine({
      doors: [ssh],
      backend: new FakeBackend(),
      audit: new MemoryAudit(),
      clock,
      grants: [{ door: 'gone', src: '203.0.113.9', family: 4, ports: ssh.open, openedAt: 0, until: null }],
    });
    const c = new GrantController({ grants, doors: () => [ssh], limits: () => testLimits, status: () => null });
    expect(await c.handle({ op: 'revoke', src: '203.0.113.9', door: 'gone' })).toEqual({
      src: '203.0.113.9',
      closed: ['gone'],
    });
  });

  test('revoke closes every door the address holds and says which', async () => {
    const { controller: c, audit } = controller();
    await c.handle({ op: 'grant', src: '203.0.113.9', door: 'ssh' });
    expect(await c.handle({ op: 'revoke', src: '203.0.113.9' })).toEqual({ src: '203.0.113.9', closed: ['ssh'] });
    expect(await c.handle({ op: 'revoke', src: '203.0.113.9' })).toEqual({ src: '203.0.113.9', closed: [] });
    expect(audit.records.map((r) => r.event)).toEqual(['open', 'close']);
  });
});

describe('control socket', () => {
  let dir: string | undefined;
  let server: ControlServer | undefined;
  afterEach(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a request reaches the handler and its answer comes back; the socket is root-only', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-control-'));
    const path = join(dir, 'control.sock');
    const { controller: c } = controller();
    server = new ControlServer(path, c);
    await server.start();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await requestDaemon(path, { op: 'status' })).toEqual({ grants: 0 });
    await requestDaemon(path, { op: 'grant', src: '203.0.113.9', door: 'ssh' });
    expect(await requestDaemon(path, { op: 'status' })).toEqual({ grants: 1 });
  });

  test('errors come back as KnocktailErrors with their code', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-control-'));
    const path = join(dir, 'control.sock');
    server = new ControlServer(path, controller().controller);
    await server.start();
    const failure = requestDaemon(path, { op: 'grant', src: '203.0.113.9', door: 'nope' });
    await expect(failure).rejects.toBeInstanceOf(KnocktailError);
    await expect(requestDaemon(path, { op: 'grant', src: '203.0.113.9', door: 'nope' })).rejects.toMatchObject({
      code: 'USAGE',
    });
  });

  test('with no daemon listening the client answers undefined, so the CLI can work offline', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-control-'));
    expect(await requestDaemon(join(dir, 'control.sock'), { op: 'status' })).toBeUndefined();
  });

  test('a stale socket left by a daemon that died answers undefined too, and a bad path still fails loudly', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-control-'));
    const stale = join(dir, 'control.sock');
    // A daemon killed with SIGKILL leaves its socket file behind; connecting to it is refused.
    await writeFile(stale, '');
    expect(await requestDaemon(stale, { op: 'status' })).toBeUndefined();
    await writeFile(join(dir, 'file'), '');
    await expect(requestDaemon(join(dir, 'file', 'control.sock'), { op: 'status' })).rejects.toMatchObject({
      code: 'CONTROL_SOCKET',
    });
  });
});
