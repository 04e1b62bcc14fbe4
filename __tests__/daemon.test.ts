import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../src/model/clock.js';
import { loadConfig } from '../src/config/load-config.js';
import type { Config } from '../src/config/types.js';
import { Daemon, type DaemonParts } from '../src/app/daemon.js';
import { withFirewallLock } from '../src/firewall/firewall-lock.js';
import { splitRuleLine } from '../src/firewall/iptables-listing.js';
import { SimulatedFirewall } from '../src/firewall/simulated-firewall.js';
import { withHostFirewallCheck } from '../src/firewall/host-firewall-check.js';
import { formatPort, type PortSpec } from '../src/model/door.js';
import { tripwirePorts } from '../src/model/tripwires.js';
import type { ByteStream, StreamStarter } from '../src/firewall/interactive-process.js';
import { recorded } from './spa/spa-fixtures.js';
import { FakeSource } from './support/fake-source.js';
import { MemoryAudit } from './support/fakes.js';

// The daemon built from fakes at every seam: a pushed log source, a manual clock, the
// simulated firewall as command runner (the real iptables backend runs against it), an
// in-memory audit sink; the state file and control socket are real, in a temp directory.
const T0 = Date.parse('2026-11-24T12:00:00Z');
const SRC = '203.0.113.9';

function knockLine(at: number, src: string, dport: number): string {
  return `${new Date(at).toISOString().replace('Z', '000+00:00')} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=${dport} WINDOW=64240 RES=0x00 SYN URGP=0`;
}

const ruleFor = (src: string, until: number | 'never', door = 'ssh') => [
  '-s',
  src,
  '-p',
  'tcp',
  '--dport',
  '22',
  '-m',
  'comment',
  '--comment',
  `knocktail door=${door} until=${until}`,
  '-j',
  'ACCEPT',
];

describe('Daemon', () => {
  let dir: string;
  let config: Config;
  let clock: ManualClock;
  let runner: SimulatedFirewall;
  let commands: string[];
  let audit: MemoryAudit;
  let source: FakeSource;
  let logged: string[];
  let daemon: Daemon | undefined;

  async function writeConfig(doors: unknown[]): Promise<Config> {
    const path = join(dir, 'config.json');
    await writeFile(
      path,
      JSON.stringify({
        stateDir: 'state',
        auditLog: 'audit.log',
        logFile: 'knock.log',
        firewall: { backend: 'iptables', checkInterval: 60 },
        doors,
      }),
    );
    return loadConfig(path);
  }

  const sshDoor = { name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'], openFor: '1h' };
  const webDoor = { name: 'web', sequence: ['tcp:7100'], open: ['tcp:443'], openFor: '1h' };

  function build(parts: Partial<DaemonParts> = {}): Daemon {
    daemon = new Daemon(config, {
      clock,
      runner,
      audit,
      source,
      bootTime: 0,
      log: { info: () => undefined, warn: (m) => void logged.push(m), error: (m) => void logged.push(m) },
      ...parts,
    });
    return daemon;
  }

  const grantRules = async (): Promise<string> => (await runner.run(['iptables', '-w', '-S', 'KNOCKTAIL'])).stdout;
  const events = (): string[] =>
    audit.records.map((r) =>
      `${r.event} ${r.door} ${r.src}${'reason' in r ? ` ${r.reason}` : 'action' in r ? ` ${r.action}` : ''}`.trim(),
    );

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kt-daemon-'));
    clock = new ManualClock(T0);
    commands = [];
    runner = new SimulatedFirewall({ now: () => clock.now(), onCommand: ({ argv }) => commands.push(argv.join(' ')) });
    audit = new MemoryAudit();
    source = new FakeSource();
    logged = [];
    config = await writeConfig([sshDoor, webDoor]);
  });

  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  test('start installs the guard, closes what expired while down, removes orphans, and a knock then opens', async () => {
    await mkdir(join(dir, 'state'), { recursive: true });
    const expired = {
      door: 'ssh',
      src: '198.51.100.5',
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0 - 7_200_000,
      until: T0 - 3_600_000,
    };
    await writeFile(
      join(dir, 'state', 'state.json'),
      JSON.stringify({ version: 1, grants: [expired], usedOneTime: [] }),
    );
    await runner.run(['iptables', '-w', '-N', 'KNOCKTAIL']);
    await runner.run(['iptables', '-w', '-A', 'KNOCKTAIL', ...ruleFor('198.51.100.5', T0 - 3_600_000)]);
    await runner.run(['iptables', '-w', '-A', 'KNOCKTAIL', ...ruleFor('198.51.100.6', 'never')]);
    await build().start();
    expect((await runner.run(['iptables', '-w', '-S', 'INPUT'])).stdout).toContain('-A INPUT -j KNOCKTAIL-GUARD');
    expect(commands.length).toBeGreaterThan(0);
    expect(events()).toEqual([
      'close ssh 198.51.100.5 expired-while-down',
      'firewall-repair ssh 198.51.100.6 remove-orphan',
    ]);
    expect(await grantRules()).not.toContain('198.51.100.');
    await source.push([knockLine(T0, SRC, 7000)]);
    expect(await grantRules()).toContain(`-s ${SRC} -p tcp --dport 22`);
    expect(daemon!.status()).toMatchObject({
      backend: 'iptables',
      backendHealthy: true,
      grants: [{ door: 'ssh', src: SRC }],
      counters: { opens: 1, knocks: 1 },
    });
  });

  test('changes reach the state file in one batch, shortly after, and stop flushes the rest', async () => {
    await build().start();
    await source.push([knockLine(T0, SRC, 7000), knockLine(T0, '198.51.100.7', 7100)]);
    const statePath = join(dir, 'state', 'state.json');
    const read = async () =>
      JSON.parse(await readFile(statePath, 'utf8').catch(() => '{"grants":[]}')) as { grants: { src: string }[] };
    expect((await read()).grants).toEqual([]);
    clock.advanceTo(T0 + 100);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await read()).grants.map((g) => g.src).sort()).toEqual(['198.51.100.7', SRC]);
    await source.push([knockLine(T0 + 200, '198.51.100.8', 7000)]);
    await daemon!.stop();
    expect((await read()).grants).toHaveLength(3);
  });

  test("an open's operational log line is written after its firewall request, never in front of it", async () => {
    const order: string[] = [];
    let started = false;
    runner = new SimulatedFirewall({
      now: () => clock.now(),
      onCommand: () => {
        if (started) order.push('firewall');
      },
    });
    daemon = new Daemon(config, {
      clock,
      runner,
      audit,
      source,
      bootTime: 0,
      log: {
        info: (m) => {
          if (m.startsWith('open ')) order.push(m);
        },
        warn: () => undefined,
        error: () => undefined,
      },
    });
    await daemon.start();
    started = true;
    await source.push([knockLine(T0, SRC, 7000)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order.slice(0, 2)).toEqual(['firewall', `open ssh ${SRC}`]);
  });

  test('the periodic check re-adds a rule deleted by hand', async () => {
    await build().start();
    await source.push([knockLine(T0, SRC, 7000)]);
    const rule = (await grantRules()).split('\n').find((line) => line.includes(SRC))!;
    await runner.run(['iptables', '-w', '-D', 'KNOCKTAIL', ...splitRuleLine(rule).slice(2)]);
    expect(await grantRules()).not.toContain(SRC);
    clock.advanceTo(T0 + 60_000);
    // The check first looks at the guard's jump, then reconciles: wait for its record (bounded), not a fixed time.
    for (let waited = 0; waited < 2000 && !events().includes(`firewall-repair ssh ${SRC} re-add-missing`); waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events()).toContain(`firewall-repair ssh ${SRC} re-add-missing`);
    expect(await grantRules()).toContain(SRC);
  });

  test('a service that starts (or stops) listening on a tripwire port after setup: the periodic check sets the guard up again', async () => {
    let listening: PortSpec[] = [];
    const [tripwire] = tripwirePorts(config.doors, config.logPrefix);
    const port = formatPort(tripwire!);
    build({
      wrapBackend: (backend) =>
        withHostFirewallCheck(backend, runner, {
          backend: 'iptables',
          mode: 'ignore',
          refusal: 'reject',
          listening: () => Promise.resolve(listening),
        }),
      listening: () => Promise.resolve(listening),
    });
    const guardNames = async (): Promise<string> =>
      (await runner.run(['iptables', '-w', '-S', 'KNOCKTAIL-GUARD'])).stdout;
    const hasTripwire = async (): Promise<boolean> =>
      new RegExp(`--dports? (\\S+,)?${tripwire!.port}\\b`).test(await guardNames());
    await daemon!.start();
    expect(await hasTripwire()).toBe(true);
    listening = [tripwire!];
    const until = async (want: boolean): Promise<void> => {
      for (let waited = 0; waited < 2000 && (await hasTripwire()) !== want; waited += 10)
        await new Promise((resolve) => setTimeout(resolve, 10));
    };
    clock.advanceTo(T0 + 60_000);
    await until(false);
    expect(await hasTripwire()).toBe(false);
    expect(logged).toContainEqual(expect.stringContaining(`listeners on tripwire ports changed (none → ${port})`));
    listening = [];
    clock.advanceTo(T0 + 120_000);
    await until(true);
    expect(await hasTripwire()).toBe(true);
  });

  test('SPA packets that cannot be captured (tcpdump missing): the start fails and an armed guard is removed', async () => {
    await writeFile(join(dir, 'spa.key'), recorded.key, { mode: 0o600 });
    await writeFile(join(dir, 'spa-hmac.key'), recorded.hmacKey, { mode: 0o600 });
    const spaDoor = {
      name: 'spa',
      spa: { keyFile: 'spa.key', hmacKeyFile: 'spa-hmac.key' },
      open: ['tcp:22'],
      openFor: '30s',
    };
    config = await writeConfig([sshDoor, spaDoor]);
    // An earlier run armed the guard (without SPA captures: "SPA doors stay shut").
    await build().start();
    await daemon!.stop();
    const guarded = async (): Promise<boolean> =>
      (await runner.run(['iptables', '-w', '-S', 'INPUT'])).stdout.includes('KNOCKTAIL-GUARD');
    expect(await guarded()).toBe(true);
    const missing: StreamStarter = {
      stream: (): ByteStream => ({
        onData: () => undefined,
        onStderr: () => undefined,
        onExit: (fn) => queueMicrotask(() => fn('Expected the program `tcpdump` on PATH, but it was not found')),
        kill: () => undefined,
      }),
    };
    await expect(build({ spaStarter: missing }).start()).rejects.toThrow(
      /^Refusing to arm the guard: the SPA door\(s\) spa cannot read their packets on udp\/62201: tcpdump on nflog:62201 exited \(Expected the program `tcpdump` on PATH/,
    );
    expect(await guarded()).toBe(false);
    expect(logged).toContainEqual(expect.stringMatching(/^Refusing to arm the guard: the SPA door/));
  });

  test('reload closes the grants of a removed door and of sources the new allowFrom excludes, and keeps the rest', async () => {
    await build().start();
    await source.push([knockLine(T0, SRC, 7000), knockLine(T0, '198.51.100.7', 7000), knockLine(T0, SRC, 7100)]);
    expect(daemon!.status().grants).toHaveLength(3);
    await daemon!.reload(await writeConfig([{ ...sshDoor, allowFrom: ['198.51.100.0/24'] }]));
    expect(events().filter((e) => e.startsWith('close'))).toEqual([
      `close ssh ${SRC} not-allowed`,
      `close web ${SRC} door-removed`,
    ]);
    expect(daemon!.status().grants.map((g) => `${g.door} ${g.src}`)).toEqual(['ssh 198.51.100.7']);
    const rules = await grantRules();
    expect(rules).not.toContain(SRC);
    expect(rules).toContain('198.51.100.7');
    // The drift check does not bring the removed door back.
    clock.advanceTo(T0 + 60_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await grantRules()).not.toContain(SRC);
    // Knocks on the removed door's port do nothing now.
    await source.push([knockLine(T0 + 61_000, '198.51.100.9', 7100)]);
    expect(daemon!.status().grants).toHaveLength(1);
  });

  test('stop ends the read loop, leaves the grants in the firewall and closes the audit log', async () => {
    let closed = false;
    audit.close = () => {
      closed = true;
      return Promise.resolve();
    };
    await build().start();
    await source.push([knockLine(T0, SRC, 7000)]);
    await daemon!.stop();
    await daemon!.done();
    expect(closed).toBe(true);
    expect(await grantRules()).toContain(SRC);
  });

  test('a second daemon on the same stateDir refuses to start before it touches the firewall; a socket file nobody listens on does not stop a start', async () => {
    await build().start();
    const seen: string[] = [];
    const second = new Daemon(config, {
      clock,
      runner: new SimulatedFirewall({ now: () => clock.now(), onCommand: ({ argv }) => seen.push(argv.join(' ')) }),
      audit: new MemoryAudit(),
      source: new FakeSource(),
      bootTime: 0,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    try {
      await expect(second.start()).rejects.toThrow(
        `Expected no other knocktail daemon on ${config.stateDir}, but one answers on its control socket ${join(config.stateDir, 'control.sock')}`,
      );
    } finally {
      // Had it started, it must not outlive the test.
      await second.stop().catch(() => undefined);
    }
    expect(seen).toEqual([]);
    await daemon!.stop();
    // What a killed daemon leaves: the socket's name, and nobody listening.
    await writeFile(join(config.stateDir, 'control.sock'), '');
    await build().start();
    expect(daemon!.status().grants).toEqual([]);
  });

  test('start reads the state under the firewall lock: a grant an offline command writes while it holds the lock is not missed', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    const grant = {
      door: 'ssh',
      src: '198.51.100.5',
      ports: [{ proto: 'tcp', port: 22 }],
      openedAt: T0,
      until: T0 + 3_600_000,
    };
    let entered!: () => void;
    let release!: () => void;
    const inLock = new Promise<void>((resolve) => (entered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const offline = withFirewallLock(stateDir, { holder: 'an offline grant (test)' }, async () => {
      entered();
      await released;
      await writeFile(join(stateDir, 'state.json'), JSON.stringify({ version: 1, grants: [grant], usedOneTime: [] }));
    });
    await inLock;
    const starting = build().start();
    // The daemon is now waiting for the lock; the offline command finishes its write and lets go.
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    await offline;
    await starting;
    expect(daemon!.status().grants.map((held) => held.src)).toEqual(['198.51.100.5']);
    expect(await grantRules()).toContain('198.51.100.5');
  });

  test('start removes the temp files a crash between write and rename left in stateDir, and nothing else', async () => {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { recursive: true });
    const names = [
      '.state.json.0123456789abcdef.tmp',
      '.follower.json.fedcba9876543210.tmp',
      '.fleet-outbox.json.00112233aabbccdd.tmp',
      '.notes.0123456789abcdef.tmp',
    ];
    for (const name of names) await writeFile(join(stateDir, name), '{');
    await build().start();
    const left = await readdir(stateDir);
    expect(names.filter((name) => left.includes(name))).toEqual(['.notes.0123456789abcdef.tmp']);
  });

  test('a state file that cannot be read is kept as it is and stops the start, loudly; no rule is touched', async () => {
    // A directory stands in for a file the service user may not read (root-owned, 0600): read fails, content unknown.
    await mkdir(join(dir, 'state', 'state.json'), { recursive: true });
    await runner.run(['iptables', '-w', '-N', 'KNOCKTAIL']);
    await runner.run(['iptables', '-w', '-A', 'KNOCKTAIL', ...ruleFor('198.51.100.6', 'never')]);
    await expect(build().start()).rejects.toMatchObject({
      code: 'STATE_IO',
      message: expect.stringMatching(
        /Cannot read the state file .*state\.json: .*it is left as it is.*chown knocktail:/,
      ),
    });
    expect((await readdir(join(dir, 'state'))).filter((name) => name.startsWith('state.json'))).toEqual(['state.json']);
    expect(events()).toEqual([]);
    expect(await grantRules()).toContain('198.51.100.6');
  });

  test.each([
    ['a truncated file', '{"version":1,"grants":[{"door":"ssh","src":"203.0.'],
    ['garbage', '\u0000\u0001not json at all'],
    [
      'a grant with an invalid address',
      JSON.stringify({
        version: 1,
        grants: [{ door: 'ssh', src: '999.1.2.3', ports: [{ proto: 'tcp', port: 22 }], openedAt: T0, until: null }],
        usedOneTime: [],
      }),
    ],
  ])(
    'a state file with %s fails closed: moved aside, audited, no grants, every knocktail rule removed',
    async (_kind, text) => {
      await mkdir(join(dir, 'state'), { recursive: true });
      await writeFile(join(dir, 'state', 'state.json'), text);
      await runner.run(['iptables', '-w', '-N', 'KNOCKTAIL']);
      await runner.run(['iptables', '-w', '-A', 'KNOCKTAIL', ...ruleFor('198.51.100.6', 'never')]);
      await build().start();
      const files = await readdir(join(dir, 'state'));
      const aside = files.find((name) => name.startsWith('state.json.corrupt-'));
      expect(aside).toBe(`state.json.corrupt-${new Date(T0).toISOString()}`);
      expect(await readFile(join(dir, 'state', aside!), 'utf8')).toBe(text);
      expect(events()).toEqual(['state-corrupt', 'firewall-repair ssh 198.51.100.6 remove-orphan']);
      expect(await grantRules()).not.toContain('198.51.100.6');
      expect(daemon!.status()).toMatchObject({
        grants: [],
        stateRecovery: { at: new Date(T0).toISOString(), movedTo: join(dir, 'state', aside!) },
      });
      expect(logged.some((line) => line.startsWith('state file unusable'))).toBe(true);
    },
  );
});
