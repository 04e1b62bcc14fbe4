import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/model/clock.js';
import { ControlServer } from '../../src/control/control-server.js';
import { GrantController } from '../../src/control/controller.js';
import { CONTROL_SOCKET_NAME } from '../../src/control/protocol.js';
import { GrantEngine } from '../../src/grant/grant-engine.js';
import { makeDoor, testLimits } from '../support/door.js';
import { FakeBackend, MemoryAudit } from '../support/fakes.js';
import { runCliCaptured } from './run-cli.js';

// status / grant / revoke reach a running daemon through a glance at the config's stateDir,
// so a config on disk that no longer validates (an edit in progress) does not get in the way;
// the daemon validates what it is asked, and its refusals keep the CLI's exit codes.
const BROKEN = {
  stateDir: 'state',
  firewall: { backend: 'dry-run' },
  limits: { alwaysAllow: ['10.0.0.1/8'] },
  doors: [{ name: 'ssh', sequence: ['tcp:70000'] }],
  typo: true,
};

describe('status, grant and revoke with a running daemon and a broken config on disk', () => {
  let dir: string;
  let config: string;
  let server: ControlServer | undefined;
  let backend: FakeBackend;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-daemon-first-'));
    config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify(BROKEN));
    await mkdir(join(dir, 'state'));
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function startDaemon(): Promise<void> {
    const ssh = makeDoor({
      name: 'ssh',
      sequence: [{ proto: 'tcp', port: 7000 }],
      openFor: 3_600_000,
      closeSequence: [],
    });
    backend = new FakeBackend();
    const grants = new GrantEngine({
      doors: [ssh],
      backend,
      audit: new MemoryAudit(),
      clock: new ManualClock(Date.parse('2026-11-24T12:00:00Z')),
    });
    const controller = new GrantController({
      grants,
      doors: () => [ssh],
      limits: () => testLimits,
      status: () => ({ startedAt: '2026-11-24T11:00:00.000Z', backend: 'fake', grants: grants.grants().length }),
    });
    server = new ControlServer(join(dir, 'state', CONTROL_SOCKET_NAME), controller);
    await server.start();
  }

  test('status shows the daemon snapshot although the config would not validate', async () => {
    await startDaemon();
    const run = await runCliCaptured(['status', '--json', '-c', config]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      daemon: true,
      startedAt: '2026-11-24T11:00:00.000Z',
      backend: 'fake',
      grants: 0,
    });
  });

  test('grant and revoke are answered by the daemon, the address normalised', async () => {
    await startDaemon();
    const grant = await runCliCaptured(['grant', '2001:DB8::0:9', '--door', 'ssh', '--for', '30m', '-c', config]);
    expect(grant).toMatchObject({ code: 0, stderr: '' });
    expect(grant.stdout).toBe('ssh open for 2001:db8::9: tcp:22 until 2026-11-24T12:30:00.000Z\n');
    expect(backend.calls).toEqual(['open ssh 2001:db8::9']);
    const revoke = await runCliCaptured(['revoke', '2001:db8:0::9', '-c', config]);
    expect(revoke).toEqual({ code: 0, stdout: 'closed ssh for 2001:db8::9\n', stderr: '' });
  });

  test("the daemon's refusals keep the exit codes: unknown door and bad address 2, nothing held 1", async () => {
    await startDaemon();
    const door = await runCliCaptured(['grant', '203.0.113.9', '--door', 'web', '-c', config]);
    expect(door.code).toBe(2);
    expect(door.stderr).toBe('knocktail: Expected --door to name a door of the config ("ssh"), got `"web"` (string)\n');
    const address = await runCliCaptured(['revoke', 'example.org', '-c', config]);
    expect(address.code).toBe(2);
    expect(address.stderr).toMatch(/Expected an IPv4 or IPv6 address/);
    const none = await runCliCaptured(['revoke', '203.0.113.9', '--door', 'ssh', '-c', config]);
    expect(none).toMatchObject({ code: 1, stderr: 'knocktail: 203.0.113.9 holds no grant on door ssh\n' });
  });

  test('with no daemon, grant loads the config in full and reports its problems (exit 2)', async () => {
    const run = await runCliCaptured(['grant', '203.0.113.9', '--door', 'ssh', '-c', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/config\.json: \d+ problems/);
    expect(run.stderr).toContain('doors[0]');
  });

  test("with no daemon, status shows the state file's grants and the raw config's backend, alwaysAllow normalised", async () => {
    const run = await runCliCaptured(['status', '--json', '-c', config]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      daemon: false,
      backend: 'dry-run',
      grants: [],
      alwaysAllow: ['10.0.0.1/8'],
    });
  });

  test('a config that is not JSON is reported by the full loader, with its line (exit 2)', async () => {
    await startDaemon();
    await writeFile(config, '{ "stateDir": "state",\n  oops }\n');
    for (const argv of [['status'], ['revoke', '203.0.113.9']]) {
      const run = await runCliCaptured([...argv, '-c', config]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/not valid JSON at line 2/);
    }
  });
});
