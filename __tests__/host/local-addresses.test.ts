import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../../src/model/clock.js';
import type { CommandResult, CommandRunner } from '../../src/firewall/backend.js';
import { IP_ADDR_ARGV, parseIpAddrJson } from '../../src/host/ip-addr.js';
import { LocalAddresses } from '../../src/host/local-addresses.js';
import { NF_LOG_ALL_NETNS_WARNING, readNfLogAllNetns } from '../../src/host/nf-log-all-netns.js';

// Trimmed from a real `ip -j addr show` (iproute2 6.x).
const IP_JSON = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
      { family: 'inet6', local: '::1', prefixlen: 128 },
    ],
  },
  { ifindex: 2, ifname: 'dummy0', addr_info: [] },
  {
    ifindex: 4,
    ifname: 'eth0',
    addr_info: [
      { family: 'inet', local: '198.51.100.1', prefixlen: 24, broadcast: '198.51.100.255' },
      { family: 'inet6', local: '2001:DB8:77:0::1', prefixlen: 64 },
      { family: 'inet6', local: 'fe80::fc:ff:fe00:1', prefixlen: 64, scope: 'link' },
    ],
  },
  { ifindex: 5, ifname: 'odd', addr_info: [{ family: 'inet', local: 'not-an-address' }, { family: 'inet' }] },
]);

class ScriptedRunner implements CommandRunner {
  readonly calls: string[][] = [];
  constructor(readonly answers: CommandResult[]) {}
  run(argv: readonly string[]): Promise<CommandResult> {
    this.calls.push([...argv]);
    return Promise.resolve(this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!);
  }
}

const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('parseIpAddrJson', () => {
  test('lists every local address of every interface but loopback, normalised as the parser normalises DST=', () => {
    expect(parseIpAddrJson(IP_JSON)).toEqual(['198.51.100.1', '2001:db8:77::1', 'fe80::fc:ff:fe00:1']);
  });

  test('output that is not the JSON list is a SOURCE_IO error that shows what came', () => {
    expect(() => parseIpAddrJson('Object "addr" is unknown')).toThrow(
      expect.objectContaining({
        code: 'SOURCE_IO',
        message: expect.stringContaining('Expected JSON from `ip -j addr show`'),
      }),
    );
    expect(() => parseIpAddrJson('{}')).toThrow(/Expected a list of interfaces/);
  });
});

describe('LocalAddresses', () => {
  test('addresses from the config are used as they are, and the system is never asked', async () => {
    const runner = new ScriptedRunner([ok(IP_JSON)]);
    const local = new LocalAddresses({ fixed: ['203.0.113.1'], runner, clock: new ManualClock(0) });
    await local.start();
    expect([...local.current()]).toEqual(['203.0.113.1']);
    expect(runner.calls).toEqual([]);
  });

  test('without a config list they come from `ip -j addr show` (an argv, no shell) and are read again on the timer', async () => {
    const clock = new ManualClock(0);
    const changes: string[][] = [];
    const runner = new ScriptedRunner([ok(IP_JSON), ok(JSON.stringify([{ addr_info: [{ local: '198.51.100.7' }] }]))]);
    const local = new LocalAddresses({
      runner,
      clock,
      refreshMs: 1000,
      onChange: (addresses) => changes.push([...addresses]),
    });
    await local.start();
    expect(runner.calls).toEqual([[...IP_ADDR_ARGV]]);
    expect(local.current().has('198.51.100.1')).toBe(true);
    clock.advanceTo(1000);
    await flush();
    expect([...local.current()]).toEqual(['198.51.100.7']);
    expect(changes).toEqual([['198.51.100.7']]);
    local.stop();
  });

  test('a failing first read stops the start with the command and its error; a failing refresh keeps the last set', async () => {
    const failing = new ScriptedRunner([{ exitCode: 255, stdout: '', stderr: 'Cannot open netlink socket\n' }]);
    await expect(new LocalAddresses({ runner: failing, clock: new ManualClock(0) }).start()).rejects.toMatchObject({
      code: 'SOURCE_IO',
      message: expect.stringContaining('`ip -j addr show`'),
    });
    const clock = new ManualClock(0);
    const errors: unknown[] = [];
    const runner = new ScriptedRunner([ok(IP_JSON), { exitCode: 1, stdout: '', stderr: 'boom' }]);
    const local = new LocalAddresses({ runner, clock, refreshMs: 1000, onError: (error) => errors.push(error) });
    await local.start();
    clock.advanceTo(1000);
    await flush();
    expect(errors).toHaveLength(1);
    expect(local.current().has('198.51.100.1')).toBe(true);
    local.stop();
  });
});

describe('nf_log_all_netns', () => {
  test('is read from its sysctl; unreadable (a non-initial namespace) is undefined', async () => {
    expect(await readNfLogAllNetns(() => Promise.resolve('1\n'))).toBe(true);
    expect(await readNfLogAllNetns(() => Promise.resolve('0\n'))).toBe(false);
    expect(await readNfLogAllNetns(() => Promise.reject(new Error('ENOENT')))).toBeUndefined();
  });

  test('the warning says what the setting means and what protects the host', () => {
    expect(NF_LOG_ALL_NETNS_WARNING).toContain('every network namespace');
    expect(NF_LOG_ALL_NETNS_WARNING).toContain('foreign');
    expect(NF_LOG_ALL_NETNS_WARNING).toContain('can still forge a knock');
    expect(NF_LOG_ALL_NETNS_WARNING).toContain('sysctl -w net.netfilter.nf_log_all_netns=0');
  });
});
