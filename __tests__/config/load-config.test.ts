import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KnocktailError } from '../../src/model/errors.js';
import { loadConfig, validateConfig } from '../../src/config/load-config.js';
import { buildConfigSkeleton } from '../../src/install/config-skeleton.js';

import * as doorStrength from '../../src/config/door-strength.js';

/** A secret of 128 bits (32 hex characters), the least check-config takes. */
const STRONG = '0123456789abcdef0123456789abcdef';

// The example of DESIGN.md, verbatim.
const designExample = {
  logFile: '/var/log/knocktail/knocks.log',
  logPrefix: 'knocktail: ',
  stateDir: '/var/lib/knocktail',
  auditLog: '/var/log/knocktail/audit.log',
  firewall: { backend: 'iptables' },
  doors: [
    {
      name: 'ssh',
      sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'],
      timeout: '15s',
      open: ['tcp:22'],
      openFor: '1h',
      closeSequence: ['tcp:9001'],
    },
    {
      name: 'classic',
      sequence: ['tcp:31600'],
      open: ['tcp:22'],
      openFor: 'until-closed',
      closeSequence: ['tcp:31601'],
    },
  ],
};

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function errorsOf(raw: unknown, options?: { baseDir?: string }): string[] {
  const result = validateConfig(raw, options);
  if (result.ok) throw new Error('expected the config to be refused');
  return result.errors;
}

function configOf(raw: unknown, options?: { baseDir?: string }) {
  const result = validateConfig(raw, options);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.join('\n')}`);
  return result.config;
}

function door(fields: Record<string, unknown>): Record<string, unknown> {
  return { name: 'd', sequence: ['tcp:7000'], ...fields };
}

const withDoors = (...doors: Record<string, unknown>[]) => ({ doors });

describe('valid configs', () => {
  test('the DESIGN.md example validates and converts to the typed config', () => {
    const config = configOf(designExample);
    expect(config.doors.map((entry) => entry.name)).toEqual(['ssh', 'classic']);
    expect(config.doors[0]).toEqual({
      name: 'ssh',
      sequence: [
        { proto: 'tcp', port: 7000 },
        { proto: 'udp', port: 8000 },
        { proto: 'tcp', port: 9000 },
      ],
      oneTimeSequences: [],
      timeout: 15_000,
      open: [{ proto: 'tcp', port: 22 }],
      openFor: 3_600_000,
      closeSequence: [{ proto: 'tcp', port: 9001 }],
      allowFrom: [],
      maxGrants: 500,
    });
    expect(config.doors[1]?.openFor).toBeNull();
  });

  test('examples/config.json loads, with its relative paths taken from the examples folder', async () => {
    const config = await loadConfig(join(repoRoot, 'examples', 'config.json'));
    expect(config.logFile).toBe(join(repoRoot, 'examples', 'demo.log'));
    expect(config.stateDir).toBe(join(repoRoot, '.tmp', 'demo-state'));
    expect(config.firewall.backend).toBe('dry-run');
    const web6 = config.doors.find((entry) => entry.name === 'web6');
    expect(web6?.sequence).toEqual([{ proto: 'udp', port: 7100 }, { proto: 'icmp' }]);
    expect(web6?.allowFrom.map((cidr) => cidr.text)).toEqual(['2001:db8::/32']);
  });

  test('every key left out gets its documented default', () => {
    const config = configOf({ doors: [{ name: 'ssh', sequence: ['tcp:7000'] }] });
    expect(config).toEqual({
      source: 'file',
      logFile: '/var/log/knocktail/knocks.log',
      nflog: { group: 7 },
      logPrefix: 'knocktail: ',
      stateDir: '/var/lib/knocktail',
      auditLog: '/var/log/knocktail/audit.log',
      localAddresses: [],
      firewall: {
        backend: 'iptables',
        inputPosition: 'auto',
        logRateLimit: '20/second',
        checkInterval: 60,
        retries: 5,
        hostFirewall: 'check',
        refusal: 'auto',
      },
      limits: {
        maxGrants: 1000,
        maxTrackedSources: 10_000,
        maxFailures: 10,
        failWindow: 600_000,
        banFor: 3_600_000,
        scannerHold: 120_000,
        maxScanners: 65_536,
        maxOpenFor: 86_400_000,
        retransmitWindow: 35_000,
        maxClockSkew: 300_000,
        alwaysAllow: [],
      },
      metrics: {},
      doors: [
        {
          name: 'ssh',
          sequence: [{ proto: 'tcp', port: 7000 }],
          oneTimeSequences: [],
          timeout: 25_000,
          open: [{ proto: 'tcp', port: 22 }],
          openFor: 3_600_000,
          closeSequence: [],
          allowFrom: [],
          maxGrants: 1000,
        },
      ],
    });
  });

  test('grant limits: 1000 by default, a door without its own gets an equal share, one of its own is kept', () => {
    const two = configOf(
      withDoors(
        { name: 'a', sequence: ['tcp:7000'] },
        { name: 'b', sequence: ['tcp:7100'], maxGrants: 10 },
        { name: 'c', sequence: ['tcp:7200'] },
      ),
    );
    expect(two.limits.maxGrants).toBe(1000);
    expect(two.doors.map((door) => door.maxGrants)).toEqual([333, 10, 333]);
    const tiny = configOf({
      limits: { maxGrants: 1 },
      doors: [
        { name: 'a', sequence: ['tcp:7000'] },
        { name: 'b', sequence: ['tcp:7100'] },
      ],
    });
    expect(tiny.doors.map((door) => door.maxGrants)).toEqual([1, 1]);
  });

  test('a time-based door gets its defaults and its secret', () => {
    const config = configOf(withDoors({ name: 'tb', timeBased: { secret: 'hunter2hunter2hunter2hunter2' } }));
    expect(config.doors[0]?.timeBased).toEqual({
      secret: 'hunter2hunter2hunter2hunter2',
      length: 3,
      period: 30_000,
      portRange: [10_000, 60_000],
      proto: 'tcp',
    });
    expect(config.doors[0]?.sequence).toEqual([]);
  });

  test('the caller’s document is left as it was (defaults go into a copy)', () => {
    const raw = { doors: [{ name: 'ssh', sequence: ['tcp:7000'] }] };
    configOf(raw);
    expect(raw).toEqual({ doors: [{ name: 'ssh', sequence: ['tcp:7000'] }] });
  });

  test('a $schema key for editors is allowed and ignored', () => {
    expect(configOf({ $schema: './schema.json', ...designExample }).doors).toHaveLength(2);
  });

  test('relative paths resolve against the base directory, absolute ones stay', () => {
    const config = configOf(
      {
        logFile: 'knocks.log',
        stateDir: '../state',
        auditLog: '/var/log/a.log',
        metrics: { textfile: 'm.prom', listen: ':9469' },
        doors: [door({})],
      },
      { baseDir: '/etc/knocktail' },
    );
    expect([config.logFile, config.stateDir, config.auditLog, config.metrics.textfile]).toEqual([
      '/etc/knocktail/knocks.log',
      '/etc/state',
      '/var/log/a.log',
      '/etc/knocktail/m.prom',
    ]);
    expect(config.metrics.listen).toBe('127.0.0.1:9469');
  });

  test('allowFrom takes addresses and CIDRs of both families, normalised', () => {
    const config = configOf(
      withDoors(door({ allowFrom: ['203.0.113.7', '198.51.100.0/24', '2001:DB8:0:0::1', '2001:db8::/32'] })),
    );
    expect(config.doors[0]?.allowFrom.map((cidr) => cidr.text)).toEqual([
      '203.0.113.7/32',
      '198.51.100.0/24',
      '2001:db8::1/128',
      '2001:db8::/32',
    ]);
  });

  test('limits.alwaysAllow takes addresses and CIDRs of both families, normalised, and is empty by default', () => {
    expect(configOf(withDoors(door({}))).limits.alwaysAllow).toEqual([]);
    const config = configOf({ limits: { alwaysAllow: ['192.0.2.7', '2001:DB8:9::/48'] }, doors: [door({})] });
    expect(config.limits.alwaysAllow.map((cidr) => cidr.text)).toEqual(['192.0.2.7/32', '2001:db8:9::/48']);
  });

  test('a limits.alwaysAllow entry that is not a network address names its index and what was expected', () => {
    expect(
      errorsOf({ limits: { alwaysAllow: ['192.0.2.0/24', '192.0.2.1/24', 'ssh-admins'] }, doors: [door({})] }),
    ).toEqual([
      'limits.alwaysAllow[1]: expected a network address, e.g. "192.0.2.0/24", got `"192.0.2.1/24"` (string)',
      'limits.alwaysAllow[2]: expected an IPv4/IPv6 address or CIDR like "203.0.113.0/24" or "2001:db8::/32", got `"ssh-admins"` (string)',
    ]);
  });

  test('metrics.listen keeps an explicit loopback host, IPv6 in brackets', () => {
    expect(configOf({ metrics: { listen: '[::1]:9469' }, doors: [door({})] }).metrics.listen).toBe('[::1]:9469');
    expect(configOf({ metrics: { listen: 'localhost:9100' }, doors: [door({})] }).metrics.listen).toBe(
      'localhost:9100',
    );
    expect(configOf({ metrics: { listen: '127.0.0.2:9100' }, doors: [door({})] }).metrics.listen).toBe(
      '127.0.0.2:9100',
    );
  });
});

describe('schema errors, as path: message', () => {
  test('a bad openFor names the door index, what was expected and what came', () => {
    expect(
      errorsOf(
        withDoors(door({ name: 'a', sequence: ['tcp:1'] }), door({ name: 'b', sequence: ['tcp:2'], openFor: 'soon' })),
      ),
    ).toEqual([
      'doors[1].openFor: expected a duration like "30s" (units ms, s, m, h, d) or "until-closed", got `"soon"` (string)',
    ]);
  });

  test('an unknown key is refused with a suggestion and the valid keys', () => {
    expect(errorsOf({ ...designExample, logfile: 'x' })).toEqual([
      'logfile: unknown key (did you mean "logFile"?); valid keys: $schema, source, logFile, nflog, logPrefix, stateDir, auditLog, localAddresses, firewall, limits, metrics, fleet, doors',
    ]);
    expect(errorsOf(withDoors(door({ tcpflags: 'syn' }))).join('\n')).toMatch(
      /^doors\[0\]\.tcpflags: unknown key; valid keys: name, sequence, /,
    );
  });

  test('steps and opened ports must be tcp/udp with a port 1-65535 (icmp only as a knock)', () => {
    expect(errorsOf(withDoors(door({ sequence: ['tcp:0', 'sctp:5', 'icmp'], open: ['icmp', 'udp:65536'] })))).toEqual([
      'doors[0].sequence[0]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"tcp:0"` (string)',
      'doors[0].sequence[1]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"sctp:5"` (string)',
      'doors[0].open[0]: expected a port like "tcp:22" or "udp:53" (a port 1-65535), got `"icmp"` (string)',
      'doors[0].open[1]: expected a port like "tcp:22" or "udp:53" (a port 1-65535), got `"udp:65536"` (string)',
    ]);
  });

  test('door names must fit into set names', () => {
    expect(errorsOf(withDoors(door({ name: 'SSH-door-with-a-long-name' })))[0]).toMatch(
      /^doors\[0\]\.name: expected a door name of 1-16 lowercase letters/,
    );
  });

  test('the NFLOG group is a netlink group number 0-65535, named by its path', () => {
    expect(configOf({ ...designExample, source: 'nflog', nflog: { group: 42 } })).toMatchObject({
      source: 'nflog',
      nflog: { group: 42 },
    });
    expect(errorsOf({ ...designExample, source: 'nflog', nflog: { group: 65536 } })).toEqual([
      expect.stringMatching(/^nflog\.group: .*65535/),
    ]);
    expect(errorsOf({ ...designExample, nflog: { group: 'seven' } })).toEqual([
      expect.stringMatching(/^nflog\.group: expected an integer/),
    ]);
    expect(errorsOf({ ...designExample, nflog: { grup: 7 } })).toEqual([
      expect.stringMatching(/^nflog\.grup: unknown key \(did you mean "group"\?\)/),
    ]);
  });

  test('the log prefix must fit the kernel limit and be printable', () => {
    expect(errorsOf({ ...designExample, logPrefix: 'x'.repeat(29) })[0]).toMatch(
      /^logPrefix: expected 1-28 printable ASCII characters/,
    );
    expect(errorsOf({ ...designExample, logPrefix: 'tab\there' })[0]).toMatch(/^logPrefix: /);
    expect(configOf({ ...designExample, logPrefix: 'x'.repeat(28) }).logPrefix).toHaveLength(28);
  });

  test('wrong types and unknown choices say what was expected', () => {
    expect(
      errorsOf({ source: 'pcap', firewall: { backend: 'pf', retries: -1, checkInterval: 'often' }, doors: 'ssh' }),
    ).toEqual([
      'source: expected one of "file", "kmsg", "nflog", got `"pcap"` (string)',
      'firewall.backend: expected one of "iptables", "ipset", "nftables", "dry-run", got `"pf"` (string)',
      'firewall.checkInterval: expected an integer, got `"often"` (string)',
      'firewall.retries: expected a number ≥ 0, got `-1` (number)',
      'doors: expected an array, got `"ssh"` (string)',
    ]);
  });

  test('doors are required, and at least one', () => {
    expect(errorsOf({})).toEqual(['doors: missing; this key is required']);
    expect(errorsOf({ doors: [] })).toEqual(['doors: expected at least 1 entry, got `[]` (array)']);
    expect(errorsOf({ doors: [{ sequence: ['tcp:7000'] }] })).toEqual(['doors[0].name: missing; this key is required']);
  });

  test('a document that is not an object is refused, not thrown on', () => {
    expect(errorsOf(42)).toEqual(['(root): expected an object, got `42` (number)']);
    expect(errorsOf(null)).toEqual(['(root): expected an object, got `null` (null)']);
  });
});

describe('semantic errors, as path: message', () => {
  test('durations must be above zero and at most ten years', () => {
    expect(errorsOf(withDoors(door({ timeout: '0s', openFor: '99999d' })))).toEqual([
      'doors[0].timeout: expected a duration above 0, got `"0s"` (string)',
      'doors[0].openFor: expected a duration of at most 3650d, got `"99999d"` (string)',
    ]);
  });

  test('limits.maxOpenFor must be at least one second', () => {
    expect(errorsOf({ limits: { maxOpenFor: '500ms' }, doors: [door({})] })).toEqual([
      'limits.maxOpenFor: expected a duration of at least 1s, got `"500ms"` (string)',
    ]);
  });

  test('grant limits must be whole numbers of at least 1, and a door’s at most the global one', () => {
    expect(errorsOf({ limits: { maxGrants: 100 }, doors: [door({ maxGrants: 101 })] })).toEqual([
      'doors[0].maxGrants: expected at most limits.maxGrants (100), got `101` (number)',
    ]);
    const zero = errorsOf({ limits: { maxGrants: 0 }, doors: [door({ maxGrants: 1.5 })] });
    expect(zero.some((line) => line.startsWith('limits.maxGrants:'))).toBe(true);
    expect(zero.some((line) => line.startsWith('doors[0].maxGrants:'))).toBe(true);
  });

  test('two doors with the same name are refused', () => {
    expect(
      errorsOf(withDoors(door({ name: 'ssh', sequence: ['tcp:1'] }), door({ name: 'ssh', sequence: ['tcp:2'] }))),
    ).toEqual(['doors[1].name: duplicate door name "ssh" (doors[0] has it too); names must be unique']);
  });

  test('a knock port that some door opens is refused, whichever door', () => {
    expect(
      errorsOf(
        withDoors(
          door({ name: 'a', sequence: ['tcp:7000', 'tcp:443'] }),
          door({ name: 'b', sequence: ['udp:9'], open: ['tcp:443'] }),
        ),
      ),
    ).toEqual([
      'doors[0].sequence[1]: tcp:443 is opened by door "b" (doors[1].open[0]); a knock port must stay closed',
    ]);
    expect(errorsOf(withDoors(door({ sequence: ['tcp:7000'], closeSequence: ['tcp:22'] })))).toEqual([
      'doors[0].closeSequence[0]: tcp:22 is opened by door "d" (doors[0].open[0]); a knock port must stay closed',
    ]);
  });

  test('a knock on the same port number over another protocol is not a conflict', () => {
    expect(configOf(withDoors(door({ sequence: ['udp:22'] }))).doors).toHaveLength(1);
  });

  test('a time-based port range that covers an opened port is refused', () => {
    expect(errorsOf(withDoors(door({ sequence: [], timeBased: { secret: STRONG, portRange: [1, 1000] } })))).toEqual([
      'doors[0].timeBased.portRange: 1-1000 includes tcp:22, opened by door "d" (doors[0].open[0]); a knock port must stay closed',
    ]);
  });

  test('two doors that start with the same knock are refused', () => {
    expect(
      errorsOf(
        withDoors(
          door({ name: 'a', sequence: ['tcp:7000', 'tcp:1'] }),
          door({ name: 'b', sequence: ['tcp:7000', 'tcp:2'] }),
        ),
      ),
    ).toEqual([
      'doors[1].sequence[0]: tcp:7000 also starts doors[0].sequence (door "a"); each door must start with its own first knock',
    ]);
  });

  test('a one-time sequence starting like another door is refused too', () => {
    expect(
      errorsOf(
        withDoors(
          door({ name: 'a', sequence: ['icmp'] }),
          door({
            name: 'b',
            sequence: [],
            oneTimeSequences: [
              ['udp:5', 'udp:6'],
              ['icmp', 'udp:7'],
            ],
          }),
        ),
      ),
    ).toEqual([
      'doors[1].oneTimeSequences[1][0]: icmp also starts doors[0].sequence (door "a"); each door must start with its own first knock',
    ]);
  });

  test('a close sequence that starts like any open sequence is refused, even the same door’s', () => {
    expect(
      errorsOf(
        withDoors(door({ name: 'a', sequence: ['tcp:7000', 'tcp:7001'], closeSequence: ['tcp:7000', 'tcp:7002'] })),
      ),
    ).toEqual([
      'doors[0].closeSequence[0]: tcp:7000 also starts doors[0].sequence (door "a"); a close sequence must not start like an open sequence',
    ]);
    expect(
      errorsOf(
        withDoors(
          door({ name: 'a', sequence: ['tcp:1'], closeSequence: ['tcp:9'] }),
          door({ name: 'b', sequence: ['tcp:9'] }),
        ),
      ),
    ).toEqual([
      'doors[1].sequence[0]: tcp:9 also starts doors[0].closeSequence (door "a"); a close sequence must not start like an open sequence',
    ]);
  });

  test('until-closed without a close sequence is refused', () => {
    expect(errorsOf(withDoors(door({ openFor: 'until-closed' })))).toEqual([
      'doors[0].openFor: "until-closed" needs a closeSequence, or the door would never close',
    ]);
  });

  test('allowFrom entries must be addresses or CIDRs, IPv4 only as a dotted quad', () => {
    expect(
      errorsOf(withDoors(door({ allowFrom: ['203.0.113.0/24', '10/8', '2001:db8::/129', 'localhost', '0x7f.1'] }))),
    ).toEqual(
      [1, 2, 3, 4].map((index) =>
        expect.stringMatching(
          new RegExp(`^doors\\[0\\]\\.allowFrom\\[${index}\\]: expected an IPv4/IPv6 address or CIDR`),
        ),
      ),
    );
  });

  test('an allowFrom CIDR with host bits set is refused with the network it probably meant', () => {
    expect(errorsOf(withDoors(door({ allowFrom: ['203.0.113.7/24', '2001:db8::1/32'] })))).toEqual([
      'doors[0].allowFrom[0]: expected a network address, e.g. "203.0.113.0/24", got `"203.0.113.7/24"` (string)',
      'doors[0].allowFrom[1]: expected a network address, e.g. "2001:db8::/32", got `"2001:db8::1/32"` (string)',
    ]);
  });

  test('an IPv4-mapped IPv6 range is refused, since packets from it are seen as IPv4', () => {
    expect(errorsOf(withDoors(door({ allowFrom: ['::ffff:203.0.113.0/120'] })))[0]).toMatch(
      /^doors\[0\]\.allowFrom\[0\]: expected .*IPv4 written as IPv4/,
    );
  });

  test('a door without any sequence is refused', () => {
    expect(errorsOf(withDoors({ name: 'empty' }))).toEqual([
      'doors[0]: expected at least one of sequence, oneTimeSequences, timeBased or spa, got none',
    ]);
  });

  test('a time-based door needs exactly one of secret and secretFile', () => {
    expect(errorsOf(withDoors(door({ timeBased: {} })))).toEqual([
      'doors[0].timeBased: expected exactly one of secret or secretFile, got neither',
    ]);
    expect(errorsOf(withDoors(door({ timeBased: { secret: 'a', secretFile: 'b' } })))).toEqual([
      'doors[0].timeBased: expected exactly one of secret or secretFile, got both',
    ]);
  });

  test('a secret of the wrong type is not echoed back', () => {
    expect(errorsOf(withDoors(door({ timeBased: { secret: 31337 } })))).toEqual([
      'doors[0].timeBased.secret: expected a string, got a hidden value',
    ]);
  });

  test('a time-based door whose timeout spans many periods is refused at the timeout, saying what to change', () => {
    expect(errorsOf(withDoors(door({ timeout: '30d', timeBased: { secret: STRONG, period: '1m' } })))).toEqual([
      'doors[0].timeout: expected at most 6m (6 × timeBased.period `"1m"` (string)) for a time-based door, got `"30d"` (string): an attempt may follow any of 43202 windows of derived ports (at most 8); raise timeBased.period or lower timeout',
    ]);
    expect(
      configOf(withDoors(door({ timeout: '3m', timeBased: { secret: STRONG, period: '30s' } }))).doors,
    ).toHaveLength(1);
  });

  test('a time-based period under 10s is refused: the issue\'s "1s" with "30d" cost 13.5 s per packet', () => {
    expect(errorsOf(withDoors(door({ timeout: '30d', timeBased: { secret: STRONG, period: '1s' } })))).toEqual([
      'doors[0].timeBased.period: expected a duration of at least 10s, got `"1s"` (string)',
    ]);
  });

  test('a time-based port range too small for the derived knocks live at once is refused', () => {
    expect(
      errorsOf(
        withDoors(
          door({ timeout: '1m', timeBased: { secret: STRONG, length: 16, period: '30s', portRange: [20000, 20100] } }),
        ),
      ),
    ).toEqual([
      'doors[0].timeBased.portRange: expected at least 128 ports (twice the 64 derived knocks live at once: 4 windows × length 16), got 101; widen portRange or shorten length',
    ]);
  });

  test('paths rendered into the unit, the drop-in and logrotate refuse newlines, quotes, % and globs, naming the key', () => {
    const problems = errorsOf({
      ...designExample,
      stateDir: '/var/lib/kt\nExecStartPost=/bin/sh -c id',
      logFile: '/var/log/"kt".log',
      auditLog: '/var/log/%h/audit.log',
    });
    const expected =
      'a path without control characters, quotes, backslashes, "%", "*", "?", "[" or "]" (the systemd unit, rsyslog drop-in and logrotate snippet would misread them)';
    expect(problems).toEqual([
      `logFile: expected ${expected}, got \`"/var/log/\\"kt\\".log"\` (string)`,
      `stateDir: expected ${expected}, got \`"/var/lib/kt\\nExecStartPost=/bin/sh -c id"\` (string)`,
      `auditLog: expected ${expected}, got \`"/var/log/%h/audit.log"\` (string)`,
    ]);
    expect(errorsOf({ ...designExample, logFile: '/var/log/kt/*.log' })).toHaveLength(1);
    expect(configOf({ ...designExample, stateDir: '/srv/my state' }).stateDir).toBe('/srv/my state');
  });

  test("localAddresses are this host's addresses, normalised; a mapped or zoned one is refused", () => {
    expect(configOf({ ...designExample, localAddresses: ['198.51.100.1', '2001:DB8::0:1'] }).localAddresses).toEqual([
      '198.51.100.1',
      '2001:db8::1',
    ]);
    expect(errorsOf({ ...designExample, localAddresses: ['::ffff:198.51.100.1', 'fe80::1%eth0', 'host'] })).toEqual([
      'localAddresses[0]: expected an IPv4 or IPv6 address of this host (no zone id, no IPv4-mapped form), got `"::ffff:198.51.100.1"` (string)',
      'localAddresses[1]: expected an IPv4 or IPv6 address of this host (no zone id, no IPv4-mapped form), got `"fe80::1%eth0"` (string)',
      'localAddresses[2]: expected an IPv4 or IPv6 address of this host (no zone id, no IPv4-mapped form), got `"host"` (string)',
    ]);
  });

  test('a time-based port range must run from low to high, with two ports for several knocks', () => {
    expect(errorsOf(withDoors(door({ timeBased: { secret: STRONG, portRange: [20000, 10000] } })))).toEqual([
      'doors[0].timeBased.portRange: expected [low, high] with low < high (a sequence of several knocks needs at least 2 ports), got `[20000,10000]` (array)',
    ]);
    expect(errorsOf(withDoors(door({ timeBased: { secret: STRONG, length: 1, portRange: [20000, 10000] } })))).toEqual([
      'doors[0].timeBased.portRange: expected [low, high] with low ≤ high, got `[20000,10000]` (array)',
    ]);
    // Six ports are enough ports for one knock; too few sequences, though (see door-strength.ts).
    expect(errorsOf(withDoors(door({ timeBased: { secret: STRONG, length: 1, portRange: [20000, 20005] } })))).toEqual([
      expect.stringMatching(
        /^doors\[0\]\.timeBased\.portRange: expected portRange and length to give at least 2\^32 sequences/,
      ),
    ]);
  });

  test('a metrics listen address needs an IP host, and a loopback one', () => {
    expect(errorsOf({ metrics: { listen: '999.0.0.1:9469' }, doors: [door({})] })).toEqual([
      'metrics.listen: expected HOST:PORT with HOST an IP address or "localhost" and PORT 1-65535, got `"999.0.0.1:9469"` (string)',
    ]);
    expect(errorsOf({ metrics: { listen: '0.0.0.0:9469' }, doors: [door({})] })).toEqual([
      'metrics.listen: expected a loopback host (127.0.0.1, [::1] or localhost; metrics reveal which doors exist), got `"0.0.0.0:9469"` (string)',
    ]);
  });

  test('many problems are all reported at once, grouped by door', () => {
    const errors = errorsOf({
      source: 'pcap',
      limits: { banFor: 'forever' },
      doors: [
        { name: 'ssh', sequence: ['tcp:7000'], openFor: 'soon', extra: 1 },
        { name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:7000'], allowFrom: ['nope'] },
        { name: 'web', sequence: ['tcp:8000'], openFor: 'until-closed' },
      ],
    });
    expect(errors.map((line) => line.slice(0, line.indexOf(':', line.indexOf(']') + 1)))).toEqual([
      'source',
      'limits.banFor',
      'doors[0].extra',
      'doors[0].openFor',
      'doors[0].sequence[0]',
      'doors[1].allowFrom[0]',
      'doors[1].name',
      'doors[1].sequence[0]',
      'doors[2].openFor',
    ]);
  });
});

describe('loading a file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'knocktail-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  async function failure(path: string): Promise<KnocktailError> {
    const error = await loadConfig(path).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof KnocktailError)) throw new Error(`expected a KnocktailError, got ${String(error)}`);
    return error;
  }

  test('a missing file is CONFIG_UNREADABLE naming the path and the OS reason', async () => {
    const error = await failure(join(dir, 'absent.json'));
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.message).toBe(`cannot read config ${join(dir, 'absent.json')}: ENOENT (no such file or directory)`);
  });

  test('a directory is unreadable as a config too', async () => {
    const error = await failure(dir);
    expect(error.code).toBe('CONFIG_UNREADABLE');
    expect(error.message).toMatch(/EISDIR/);
  });

  test('a JSON syntax error names the line and column', async () => {
    const path = await write('syntax.json', '{\n  "doors": [\n    { name: "ssh" }\n  ]\n}\n');
    const error = await failure(path);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${path}: not valid JSON at line 3, column 7`);
    expect(error.details).toEqual([expect.stringMatching(/^line 3, column 7: \S/)]);
  });

  test('an invalid config lists every problem in the details', async () => {
    const path = await write(
      'invalid.json',
      JSON.stringify({ source: 'pcap', doors: [{ name: 'x', sequence: ['tcp:1'], openFor: 'soon' }] }),
    );
    const error = await failure(path);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toBe(`${path}: 2 problems`);
    expect(error.details).toEqual([
      'source: expected one of "file", "kmsg", "nflog", got `"pcap"` (string)',
      'doors[0].openFor: expected a duration like "30s" (units ms, s, m, h, d) or "until-closed", got `"soon"` (string)',
    ]);
  });

  test('a secret file is read relative to the config file, whitespace trimmed', async () => {
    await mkdir(join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'door.key'), '  s3cret-words-that-are-long-enough \n');
    const path = await write(
      'time.json',
      JSON.stringify({ doors: [{ name: 'tb', timeBased: { secretFile: 'secrets/door.key' } }] }),
    );
    expect((await loadConfig(path)).doors[0]?.timeBased?.secret).toBe('s3cret-words-that-are-long-enough');
  });

  test('a missing or empty secret file is a config problem at its path', async () => {
    await writeFile(join(dir, 'empty.key'), '\n');
    const path = await write(
      'nosecret.json',
      JSON.stringify({
        doors: [
          { name: 'a', timeBased: { secretFile: 'missing.key' } },
          { name: 'b', timeBased: { secretFile: 'empty.key', portRange: [61000, 62000] } },
        ],
      }),
    );
    expect((await failure(path)).details).toEqual([
      `doors[0].timeBased.secretFile: cannot read the secret from ${JSON.stringify(join(dir, 'missing.key'))}: ENOENT (no such file or directory)`,
      `doors[1].timeBased.secretFile: cannot read the secret from ${JSON.stringify(join(dir, 'empty.key'))}: the file is empty`,
    ]);
  });
});

describe('configs other commands write', () => {
  test('the skeleton `knocktail install` writes validates as it is', () => {
    const config = configOf(
      JSON.parse(
        buildConfigSkeleton('/usr/lib/node_modules/knocktail/src/config/schema.json', {
          sequence: [4711, 15000, 2222],
          close: 30001,
        }),
      ),
    );
    expect(config.doors.map((entry) => entry.name)).toEqual(['ssh']);
  });
});

describe('weak doors are refused, single knocks warned about', () => {
  const timed = (timeBased: Record<string, unknown>): unknown => ({
    doors: [{ name: 'tb', timeBased: { proto: 'tcp', ...timeBased } }],
  });

  test('a time-based secret under 128 bits is refused, from the config or from its file', () => {
    expect(errorsOf(timed({ secret: 'x', portRange: [40000, 49999] }))).toEqual([
      'doors[0].timeBased.secret: expected a secret of at least 128 bits (e.g. 32 hex characters from `openssl rand -hex 32`), got about 6 bits (1 byte): anyone who guesses it derives every sequence',
    ]);
    expect(errorsOf(timed({ secret: STRONG.slice(0, 31), portRange: [40000, 49999] }))).toHaveLength(1);
    expect(configOf(timed({ secret: STRONG, portRange: [40000, 49999] })).doors).toHaveLength(1);
  });

  test("a range and length whose sequences a sweep of the range completes are refused (the issue's six ports)", () => {
    expect(errorsOf(timed({ secret: STRONG, length: 1, portRange: [40000, 40005] }))).toEqual([
      'doors[0].timeBased.portRange: expected portRange and length to give at least 2^32 sequences, got about 2^2.6 (1 knock in 6 ports): a scan that sweeps the range in random order completes one about every sweep; widen the range or add knocks',
    ]);
    expect(configOf(timed({ secret: STRONG, length: 3, portRange: [40000, 42047] })).doors).toHaveLength(1);
  });

  test('check-config warns about single-knock doors, naming the scan risk and what tripwires do', () => {
    const { checkDoorStrength } = doorStrength;
    const { warnings, problems } = checkDoorStrength(
      configOf({
        doors: [{ name: 'classic', sequence: ['tcp:31600'], closeSequence: ['tcp:31601'], openFor: 'until-closed' }],
      }).doors,
    );
    expect(problems).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^doors\[0\]\.sequence: a single knock \(tcp:31600\): any port scan that touches it opens the door\. Tripwire ports stop/,
      ),
    ]);
  });
});
