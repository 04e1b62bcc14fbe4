import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CliContext } from '../../src/cli/context.js';
import { applySetup, applyTeardown, printRules } from '../../src/cli/rules.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { SimulatedFirewall } from '../../src/firewall/simulated-firewall.js';
import { formatArgv } from '../../src/firewall/shell-quote.js';
import type { HostProbes } from '../../src/cli/host-probes.js';
import { detectHostFirewall } from '../../src/firewall/host-firewall.js';
import { judgeHostFirewall } from '../../src/firewall/host-firewall-policy.js';
import { QUIET_HOST } from '../cli/run-cli.js';
import { RAW_CLASSIC_DOOR } from '../support/door.js';

// A host running ufw (the captured ruleset), judged for the configured backend.
const UFW_HOST: HostProbes = {
  ...QUIET_HOST,
  firewall: async (backend) => {
    const scan = detectHostFirewall(
      readFileSync(join(process.cwd(), '__tests__', 'fixtures', 'host-firewall', 'ufw.json'), 'utf8'),
    );
    return { checked: true, verdict: judgeHostFirewall(scan.ok ? scan.blocking : [], backend) };
  },
};

function fakeContext(cwd: string, env: Record<string, string> = {}): CliContext & { out: () => string } {
  let text = '';
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    argv: [],
    env,
    cwd,
    stdout,
    stderr: stdout,
    signals: { onStop: () => undefined, onReload: () => undefined },
    host: UFW_HOST,
    out: () => text,
  };
}

describe('knocktail rules, setup and teardown', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ktfw-rules-'));
    const config = {
      logFile: 'knocks.log',
      logPrefix: 'knocktail: ',
      stateDir: 'state',
      auditLog: 'audit.log',
      firewall: { backend: 'iptables', inputPosition: 2 },
      doors: [RAW_CLASSIC_DOOR],
    };
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('rules prints every setup command on its own line, quoted for a shell reader', async () => {
    const ctx = fakeContext(dir);
    expect(await printRules(ctx, 'config.json')).toBe(0);
    const lines = ctx.out().trimEnd().split('\n');
    expect(lines[0]).toBe('iptables -w -N KNOCKTAIL');
    expect(lines).toContain(
      "iptables -w -A KNOCKTAIL-GUARD -p tcp --dport 31600 -m conntrack --ctstate NEW -m hashlimit --hashlimit-upto 20/second --hashlimit-mode srcip --hashlimit-name knocktail4 -j LOG --log-prefix 'knocktail: '",
    );
    expect(lines).toContain('ip6tables -w -I INPUT 2 -j KNOCKTAIL-GUARD');
  });

  test('on a Docker host rules ends with a comment line per published protected port (the forward twin follows the DNAT rules)', async () => {
    const ctx = { ...fakeContext(dir) };
    const docker = {
      ...ctx,
      host: {
        ...UFW_HOST,
        forward: () =>
          Promise.resolve({
            guards: [{ family: 4 as const, proto: 'tcp' as const, port: 22, origins: ['iptables nat DOCKER: …'] }],
            unguarded: [],
          }),
      },
    };
    await printRules(docker, 'config.json');
    expect(ctx.out().trimEnd().split('\n').at(-1)).toMatch(
      /^# forward path: tcp:22 \(IPv4\) is published by DNAT \(iptables nat DOCKER: …\); guarded by chain KNOCKTAIL-FWD /,
    );
  });

  test("rules ends with comment lines on the host's firewall, what it means for the backend, and the refusal it makes the guard choose", async () => {
    const ctx = fakeContext(dir);
    await printRules(ctx, 'config.json');
    const lines = ctx.out().trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(
      /^# host firewall: ufw \(table ip filter, chain INPUT, priority 0: policy drop\); .*the iptables backend's jump goes into that INPUT chain ahead of it, so grants open$/,
    );
    expect(lines.at(-1)).toMatch(
      /^# refusal: drop \(silent\), as for unused ports; auto: ufw \(table ip filter, chain INPUT, priority 0: policy drop\); ufw \(table ip6 filter.*\) drops unused ports by default$/,
    );
    // The printed rules are the ones setup would write on that host: silent drops, no REJECT.
    expect(lines.filter((line) => line.includes('-j REJECT'))).toEqual([]);
    expect(lines).toContain('iptables -w -A KNOCKTAIL-GUARD -p tcp --dport 31600 -m conntrack --ctstate NEW -j DROP');
  });

  test('rules shows limits.alwaysAllow as accepts on the protected ports before the grants', async () => {
    const config = {
      logFile: 'knocks.log',
      stateDir: 'state',
      auditLog: 'audit.log',
      limits: { alwaysAllow: ['192.0.2.0/24', '2001:db8:9::/48'] },
      doors: [RAW_CLASSIC_DOOR],
    };
    await writeFile(join(dir, 'allow.json'), JSON.stringify(config));
    const ctx = fakeContext(dir);
    expect(await printRules(ctx, 'allow.json')).toBe(0);
    const lines = ctx.out().trimEnd().split('\n');
    const accept4 = lines.indexOf('iptables -w -A KNOCKTAIL-GUARD -s 192.0.2.0/24 -p tcp --dport 22 -j ACCEPT');
    expect(accept4).toBeGreaterThan(0);
    expect(lines[accept4 + 1]).toBe('iptables -w -A KNOCKTAIL-GUARD -j KNOCKTAIL');
    expect(lines).toContain('ip6tables -w -A KNOCKTAIL-GUARD -s 2001:db8:9::/48 -p tcp --dport 22 -j ACCEPT');
    expect(lines.filter((line) => line.includes('192.0.2.0/24'))).toHaveLength(1);
  });

  test('the config path comes from KNOCKTAIL_CONFIG when --config is absent', async () => {
    const ctx = fakeContext(dir, { KNOCKTAIL_CONFIG: join(dir, 'config.json') });
    expect(await printRules(ctx, undefined)).toBe(0);
    expect(ctx.out()).toContain('KNOCKTAIL-GUARD');
  });

  test('setup and teardown apply the rule set through the configured backend', async () => {
    const runner = new SimulatedFirewall({ now: () => 0 });
    const backend = selectBackend(
      {
        backend: 'iptables',
        retries: 0,
        logRateLimit: '20/second',
        inputPosition: 1,
        checkInterval: 60,
        logPrefix: 'knocktail: ',
      },
      { runner, now: () => 0 },
    );
    const chains = async (): Promise<number[]> =>
      Promise.all(
        ['iptables', 'ip6tables'].flatMap((bin) =>
          ['KNOCKTAIL', 'KNOCKTAIL-GUARD'].map(async (chain) => (await runner.run([bin, '-w', '-S', chain])).exitCode),
        ),
      );
    const ctx = fakeContext(dir);
    expect(await applySetup(ctx, 'config.json', () => backend)).toBe(0);
    expect(await chains()).toEqual([0, 0, 0, 0]);
    expect((await runner.run(['iptables', '-w', '-S', 'INPUT'])).stdout).toContain('-A INPUT -j KNOCKTAIL-GUARD');
    expect(await applyTeardown(ctx, 'config.json', () => backend)).toBe(0);
    expect(await chains()).toEqual([1, 1, 1, 1]);
    expect((await runner.run(['iptables', '-w', '-S', 'INPUT'])).stdout).not.toContain('KNOCKTAIL');
    expect(ctx.out()).toContain('firewall rules for 1 door(s) in place');
  });

  test('a missing config file is a CONFIG_UNREADABLE error', async () => {
    await expect(printRules(fakeContext(dir), 'nope.json')).rejects.toMatchObject({ code: 'CONFIG_UNREADABLE' });
  });

  test('shell quoting leaves plain words alone and single-quotes the rest', () => {
    expect(formatArgv(['nft', 'add rule inet knocktail guard log prefix "it\'s"'])).toBe(
      `nft 'add rule inet knocktail guard log prefix "it'\\''s"'`,
    );
  });
});
