import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostProbes } from '../../src/cli/host-probes.js';
import { QUIET_HOST, runCliCaptured, type CapturedRun } from './run-cli.js';
import { recorded } from '../spa/spa-fixtures.js';
import { RAW_CLASSIC_DOOR, RAW_SSH_DOOR } from '../support/door.js';

function run(
  argv: string[],
  cwd: string,
  env: Record<string, string> = {},
  host: HostProbes = QUIET_HOST,
): Promise<CapturedRun> {
  return runCliCaptured(argv, { cwd, env, host });
}

// A host where sshd-like services listen on 8080 and 9000, with ufw in front (as check-config reads it).
const BUSY_HOST: HostProbes = {
  ...QUIET_HOST,
  ports: {
    read: async () => ({
      listening: [
        { proto: 'tcp', family: 4, address: '0.0.0.0', port: 9000 },
        { proto: 'tcp', family: 6, address: '::', port: 9000 },
      ],
      ephemeral: [32768, 60999],
    }),
  },
  firewall: async () => ({
    checked: true,
    verdict: {
      kind: 'blocked',
      alongside: [],
      blockers: [{ kind: 'ufw', family: 'ip', table: 'filter', chain: 'INPUT', priority: 0, reason: 'policy drop' }],
    },
  }),
};

const goodConfig = { doors: [RAW_SSH_DOOR, RAW_CLASSIC_DOOR] };

describe('knocktail check-config', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-check-'));
    await writeFile(join(dir, 'good.json'), JSON.stringify(goodConfig));
    await writeFile(
      join(dir, 'bad.json'),
      JSON.stringify({
        firewall: { backend: 'pf' },
        doors: [
          { name: 'ssh', sequence: ['tcp:7000'], openFor: 'soon' },
          { name: 'ssh', sequence: ['tcp:7000'] },
        ],
      }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a valid config prints OK with its path and one line per door, exit 0', async () => {
    const result = await run(['check-config', '--config', 'good.json'], dir);
    expect(result).toEqual({
      code: 0,
      stdout: [
        `config OK: ${join(dir, 'good.json')}`,
        'warning: doors[1].sequence: a single knock (tcp:31600): any port scan that touches it opens the door. Tripwire ports stop a scanner that also hits them (it completes no door for limits.scannerHold, and a grant it got just before is revoked), not one that probes this one port; use three or more knocks, a time-based sequence, or an SPA door',
        'host firewall: not checked (not looked at in unit tests)',
        'refusal: reject (TCP reset for tcp, ICMP/ICMPv6 port unreachable for udp), as for unused ports; auto: host firewall not checked (not looked at in unit tests); the kernel answers an unused port with a TCP reset or ICMP port unreachable',
        'ssh: tcp:7000 udp:8000 tcp:9000 within 15s → opens tcp:22 for 1h, close: tcp:9001',
        'classic: tcp:31600 → opens tcp:22 until closed, close: tcp:31601',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  test("warnings about this host's ports and firewall come under the OK line, with their JSON path, and the exit stays 0", async () => {
    const result = await run(['check-config', '--config', 'good.json'], dir, {}, BUSY_HOST);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`config OK: ${join(dir, 'good.json')}`);
    expect(lines[1]).toMatch(/^warning: doors\[1\]\.sequence: a single knock \(tcp:31600\)/);
    lines.splice(1, 1);
    expect(lines[1]).toBe(
      'warning: doors[0].sequence[2]: tcp:9000 is a port a local service listens on (tcp 0.0.0.0:9000, tcp6 [::]:9000); the guard drops new connections to knock ports, so that service would be cut off',
    );
    expect(lines[2]).toMatch(
      /^host firewall: ufw \(table ip filter, chain INPUT, priority 0: policy drop\) drops what the iptables backend accepts; `knocktail setup` refuses/,
    );
    expect(lines[3]).toBe(
      'refusal: drop (silent), as for unused ports; auto: ufw (table ip filter, chain INPUT, priority 0: policy drop) drops unused ports by default',
    );
    expect(lines.slice(4)).toEqual([expect.stringMatching(/^ssh: /), expect.stringMatching(/^classic: /)]);
    expect(result.stderr).toBe('');
  });

  test('on a host where Docker publishes a protected port, check-config says so and how it is guarded', async () => {
    await writeFile(
      join(dir, 'docker.json'),
      JSON.stringify({ doors: [{ name: 'web', sequence: ['tcp:7300'], open: ['tcp:8080', 'tcp:22'] }] }),
    );
    const docker: HostProbes = {
      ...QUIET_HOST,
      forward: (ports) =>
        Promise.resolve({
          guards: ports
            .filter((port) => port.port === 8080)
            .map((port) => ({
              family: 4 as const,
              proto: port.proto,
              port: port.port,
              origins: [
                'iptables nat DOCKER: ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.2:80',
              ],
            })),
          unguarded: [],
        }),
    };
    const result = await run(['check-config', '--config', 'docker.json'], dir, {}, docker);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "forward path: tcp:8080 (IPv4) is published by DNAT (iptables nat DOCKER: ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 203.0.113.2:80); guarded by chain KNOCKTAIL-FWD (jumped from DOCKER-USER when it exists, else first in FORWARD), matching conntrack's original destination",
    );
    const bare = await run(
      ['check-config', '--config', 'docker.json'],
      dir,
      {},
      { ...QUIET_HOST, forward: () => Promise.resolve({ guards: [], unguarded: [] }) },
    );
    expect(bare.stdout).toContain('forward path: no protected port is published by DNAT');
  });

  test('warnings about the config itself (a wide alwaysAllow, a single knock on a well-known port) come first, exit 0', async () => {
    await writeFile(
      join(dir, 'weak.json'),
      JSON.stringify({
        limits: { alwaysAllow: ['0.0.0.0/0'] },
        doors: [{ name: 'dns', sequence: ['udp:53'], open: ['tcp:22'] }],
      }),
    );
    const result = await run(['check-config', '--config', 'weak.json'], dir);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').slice(1, 3)).toEqual([
      expect.stringMatching(/^warning: limits\.alwaysAllow\[0\]: 0\.0\.0\.0\/0 is every IPv4 address;/),
      expect.stringMatching(/^warning: doors\[0\]\.sequence\[0\]: udp:53 is a well-known service port \(DNS\);/),
    ]);
  });

  test('a fleet config marks its fleet doors and names the group, this member and the servers', async () => {
    await writeFile(join(dir, 'fleet.key'), 'k'.repeat(40));
    await writeFile(
      join(dir, 'fleet.json'),
      JSON.stringify({
        doors: [{ ...goodConfig.doors[0], fleet: true }, goodConfig.doors[1]],
        fleet: { servers: ['tls://198.51.100.1:4222'], group: 'bastions', host: 'b1', keyFile: 'fleet.key' },
      }),
    );
    const result = await run(['check-config', '--config', 'fleet.json'], dir);
    expect(result.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'ssh: tcp:7000 udp:8000 tcp:9000 within 15s → opens tcp:22 for 1h, close: tcp:9001 [fleet]',
        'classic: tcp:31600 → opens tcp:22 until closed, close: tcp:31601',
        'fleet bastions as b1: tls://198.51.100.1:4222; fleet doors ssh',
      ]),
    );
  });

  test('a key file others can read, or one the service user does not own, is a warning that gives the owner and mode to use', async () => {
    await writeFile(join(dir, 'open.key'), 'k'.repeat(40), { mode: 0o644 });
    await chmod(join(dir, 'open.key'), 0o644);
    await writeFile(
      join(dir, 'open.json'),
      JSON.stringify({
        doors: [{ ...goodConfig.doors[0], fleet: true }],
        fleet: { servers: ['tls://198.51.100.1:4222'], group: 'bastions', host: 'b1', keyFile: 'open.key' },
      }),
    );
    const owner = (await stat(join(dir, 'open.key'))).uid;
    const service: HostProbes = {
      ...QUIET_HOST,
      serviceUser: () => Promise.resolve({ name: 'knocktail', uid: owner + 1 }),
    };
    const result = await run(['check-config', '--config', 'open.json'], dir, {}, service);
    const key = join(dir, 'open.key');
    expect(result.stdout.split('\n')).toContain(
      `warning: fleet.keyFile: ${key} is open to its group and everyone (mode 0644) and is owned by uid ${owner}, not by knocktail (uid ${owner + 1}) whom the daemon runs as; ` +
        `a key must be readable by knocktail and nobody else: chown knocktail:knocktail ${key} && chmod 600 ${key}`,
    );
    await chmod(key, 0o600);
    const fixed = await run(
      ['check-config', '--config', 'open.json'],
      dir,
      {},
      { ...QUIET_HOST, serviceUser: () => Promise.resolve({ name: 'knocktail', uid: owner }) },
    );
    expect(fixed.stdout).not.toMatch(/warning/);
  });

  test('SPA doors on a host without tcpdump: a warning that the daemon will refuse to arm, with the package', async () => {
    await writeFile(join(dir, 'spa.key'), recorded.key, { mode: 0o600 });
    await writeFile(join(dir, 'spa-hmac.key'), recorded.hmacKey, { mode: 0o600 });
    await writeFile(
      join(dir, 'spa.json'),
      JSON.stringify({
        doors: [
          { name: 'spa', spa: { keyFile: 'spa.key', hmacKeyFile: 'spa-hmac.key' }, open: ['tcp:22'], openFor: '30s' },
        ],
      }),
    );
    const asked: string[] = [];
    const host = (answer: string | undefined): HostProbes => ({
      ...QUIET_HOST,
      missingProgram: (program) => {
        asked.push(program);
        return Promise.resolve(answer);
      },
    });
    const missing =
      'Expected the program `tcpdump` on PATH, but it was not found; install the Debian package `tcpdump`';
    const result = await run(['check-config', '--config', 'spa.json'], dir, {}, host(missing));
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toContain(
      `warning: SPA door(s) spa read their packets through tcpdump: ${missing}; without it \`knocktail run\` refuses to arm the guard`,
    );
    expect(asked).toEqual(['tcpdump']);
    expect((await run(['check-config', '--config', 'spa.json'], dir, {}, host(undefined))).stdout).not.toMatch(
      /tcpdump/,
    );
    // No SPA door: nothing asked.
    await run(['check-config', '--config', 'good.json'], dir, {}, host(missing));
    expect(asked).toEqual(['tcpdump', 'tcpdump']);
  });

  test('a general syslog file as logFile is a warning: any local user can write kernel-looking lines there', async () => {
    await writeFile(join(dir, 'kern.json'), JSON.stringify({ ...goodConfig, logFile: '/var/log/kern.log' }));
    const result = await run(['check-config', '--config', 'kern.json'], dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^warning: logFile: \/var\/log\/kern\.log is a general syslog file that other programs write to: .*\/dev\/log/m,
    );
  });

  test('an invalid config prints every problem as path: message, exit 2', async () => {
    const result = await run(['check-config', '--config', join(dir, 'bad.json')], '/');
    expect(result.code).toBe(2);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      'firewall.backend: expected one of "iptables", "ipset", "nftables", "dry-run", got `"pf"` (string)',
      'doors[0].openFor: expected a duration like "30s" (units ms, s, m, h, d) or "until-closed", got `"soon"` (string)',
      'doors[1].name: duplicate door name "ssh" (doors[0] has it too); names must be unique',
      'doors[1].sequence[0]: tcp:7000 also starts doors[0].sequence (door "ssh"); each door must start with its own first knock',
    ]);
    expect(result.stderr).toBe(`knocktail: ${join(dir, 'bad.json')}: 4 problems\n`);
  });

  test('KNOCKTAIL_CONFIG names the file when --config is not given', async () => {
    const result = await run(['check-config'], dir, { KNOCKTAIL_CONFIG: join(dir, 'good.json') });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^config OK: .*good\.json\n/);
  });

  test('a missing file is a config error naming the path, exit 2', async () => {
    const result = await run(['check-config', '--config', 'absent.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `knocktail: cannot read config ${join(dir, 'absent.json')}: ENOENT (no such file or directory)\n`,
    );
  });

  test('a JSON syntax error is reported with its line and column, exit 2', async () => {
    await writeFile(join(dir, 'syntax.json'), '{\n  "doors": [,]\n}\n');
    const result = await run(['check-config', '--config', 'syntax.json'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/^line 2, column 13: /);
    expect(result.stderr).toMatch(/syntax\.json: not valid JSON at line 2, column 13\n$/);
  });
});
