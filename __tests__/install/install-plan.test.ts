import { describe, expect, test } from '@jest/globals';
import { buildConfigSkeleton, DEFAULT_PATHS } from '../../src/install/config-skeleton.js';
import { chooseKnockPorts } from '../../src/install/knock-ports.js';
import { validateConfig } from '../../src/config/load-config.js';
import { ULOGD_UNIT_PATH } from '../../src/install/ulogd-files.js';
import {
  buildInstallPlan,
  knockCommand,
  LOGROTATE_PATH,
  RSYSLOG_DROPIN_PATH,
  SYSTEMD_UNIT_PATH,
  type InstallInput,
  type PlannedFile,
} from '../../src/install/install-plan.js';

const assets = {
  rsyslogDropin:
    'if $msg startswith "knocktail: " then { action(type="omfile" file="/var/log/knocktail/knocks.log" fileGroup="knocktail" dirGroup="knocktail") stop }\n',
  systemdUnit: '[Service]\nReadWritePaths=/var/lib/knocktail /var/log/knocktail\n',
  logrotate: '/var/log/knocktail/knocks.log\n/var/log/knocktail/audit.log\n{\n weekly\n}\n',
};

const KNOCK = { sequence: [4711, 15000, 2222], close: 30001 };
const HINT = {
  door: 'ssh',
  sequence: ['tcp:4711', 'tcp:15000', 'tcp:2222'],
  close: ['tcp:30001'],
  effect: 'opens tcp:22 for 1h',
};

function input(overrides: Partial<InstallInput> = {}): InstallInput {
  return {
    configPath: '/etc/knocktail/config.json',
    configSkeleton: buildConfigSkeleton('/usr/lib/knocktail/src/config/schema.json', KNOCK),
    configExists: false,
    paths: DEFAULT_PATHS,
    assets,
    setup: { kind: 'skip', reason: 'not armed yet' },
    knock: HINT,
    ...overrides,
  };
}

function file(plan: ReturnType<typeof buildInstallPlan>, path: string): PlannedFile {
  const entry = plan.entries.find((candidate) => candidate.path === path);
  if (entry?.kind !== 'file') throw new Error(`no planned file ${path}`);
  return entry;
}

describe('buildInstallPlan', () => {
  test('a fresh install plans the config skeleton, the directories with their modes and the three snippets', () => {
    const plan = buildInstallPlan(input());
    expect(plan.entries.map((entry) => [entry.kind, entry.path, entry.mode.toString(8)])).toEqual([
      ['dir', '/etc/knocktail', '750'],
      ['file', '/etc/knocktail/config.json', '640'],
      ['dir', '/var/lib/knocktail', '700'],
      ['dir', '/var/log/knocktail', '750'],
      ['file', RSYSLOG_DROPIN_PATH, '644'],
      ['file', SYSTEMD_UNIT_PATH, '644'],
      ['file', LOGROTATE_PATH, '644'],
    ]);
    expect(file(plan, '/etc/knocktail/config.json').keepExisting).toBe(true);
    expect(plan.setup).toEqual({ kind: 'skip', reason: 'not armed yet' });
    expect(plan.knock).toEqual(HINT);
  });

  test('an existing config is kept, and its prefix and paths shape the snippets', () => {
    const plan = buildInstallPlan(
      input({
        configExists: true,
        paths: {
          logFile: '/srv/kt/knocks.log',
          logPrefix: 'kt6: ',
          stateDir: '/srv/state',
          auditLog: '/srv/audit/a.log',
        },
      }),
    );
    expect(file(plan, '/etc/knocktail/config.json').keepExisting).toBe(true);
    expect(plan.nextSteps.join('\n')).not.toContain('chosen at random');
    expect(plan.entries.filter((entry) => entry.kind === 'dir').map((entry) => entry.path)).toEqual([
      '/etc/knocktail',
      '/srv/state',
      '/srv/kt',
      '/srv/audit',
    ]);
    expect(file(plan, RSYSLOG_DROPIN_PATH).content).toContain('startswith "kt6: "');
    expect(file(plan, RSYSLOG_DROPIN_PATH).content).toContain('file="/srv/kt/knocks.log"');
    expect(file(plan, SYSTEMD_UNIT_PATH).content).toContain(
      'ReadWritePaths=/var/lib/knocktail /var/log/knocktail /srv/state /srv/kt /srv/audit',
    );
    expect(file(plan, LOGROTATE_PATH).content).toContain('/srv/kt/knocks.log\n/srv/audit/a.log\n');
  });

  test("with the NFLOG source, knocktail's ulogd2 config and unit take the place of the rsyslog drop-in", () => {
    const plan = buildInstallPlan(
      input({ nflog: { group: 42, pluginDir: '/usr/lib/aarch64-linux-gnu/ulogd', ulogdInstalled: true } }),
    );
    const paths = plan.entries.map((entry) => entry.path);
    expect(paths).not.toContain(RSYSLOG_DROPIN_PATH);
    expect(paths).toEqual(
      expect.arrayContaining(['/etc/knocktail/ulogd.conf', ULOGD_UNIT_PATH, SYSTEMD_UNIT_PATH, LOGROTATE_PATH]),
    );
    expect(file(plan, '/etc/knocktail/ulogd.conf').content).toContain('group=42\n');
    expect(file(plan, '/etc/knocktail/ulogd.conf').content).toContain(
      'plugin="/usr/lib/aarch64-linux-gnu/ulogd/ulogd_inppkt_NFLOG.so"',
    );
    expect(file(plan, '/etc/knocktail/ulogd.conf').content).toContain('file="/var/log/knocktail/knocks.log"');
    expect(file(plan, ULOGD_UNIT_PATH).content).toContain('ExecStart=/usr/sbin/ulogd -c /etc/knocktail/ulogd.conf\n');
    const text = plan.nextSteps.join('\n');
    expect(text).not.toContain('rsyslog');
    expect(text).not.toContain('apt-get install ulogd2');
    expect(text.indexOf('enable --now knocktail-ulogd.service')).toBeLessThan(text.indexOf('enable --now knocktail '));
    expect(
      buildInstallPlan(
        input({ nflog: { group: 42, pluginDir: '/usr/lib/x86_64-linux-gnu/ulogd', ulogdInstalled: false } }),
      ).nextSteps.join('\n'),
    ).toContain('apt-get install ulogd2');
  });

  test('the first-run steps arm the guard with the ssh session still open and close it only after a second login worked', () => {
    const steps = buildInstallPlan(input()).nextSteps;
    expect(steps[0]).toContain('chosen at random');
    const text = steps.join('\n');
    const order = [
      'systemctl restart rsyslog',
      'keep this ssh session open',
      'systemctl enable --now knocktail',
      'knocktail knock HOST tcp:4711 tcp:15000 tcp:2222',
      'second terminal',
      'only when that second login works, close the first session',
    ];
    const positions = order.map((needle) => text.indexOf(needle));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text).toContain('knocktail teardown');
  });

  test('the client command knocks the fixed sequence, or names the door when there is none', () => {
    expect(knockCommand(HINT)).toBe('knocktail knock HOST tcp:4711 tcp:15000 tcp:2222');
    expect(knockCommand({ ...HINT, door: 'totp', sequence: [] })).toBe(
      'knocktail knock HOST --door totp --config <a copy of this config>',
    );
  });

  test('without the knocktail system user the next steps create it and give it the config to read', () => {
    const steps = buildInstallPlan(input({ serviceUserExists: false })).nextSteps;
    expect(steps[1]).toMatch(
      /^2\. adduser --system --group .* knocktail {3}\(the unit runs as this user; its group reads the knock log\)$/,
    );
    expect(steps[2]).toMatch(/^3\. chgrp knocktail \/etc\/knocktail \/etc\/knocktail\/config.json/);
    // The step that says how long to keep the session open names the knock step's new number.
    const knockStep = steps.find((step) => step.includes('from your own machine'))!.split('.')[0];
    expect(steps.join('\n')).toContain(`keep this ssh session open until step ${knockStep} worked`);
    expect(knockStep).toBe('7');
    expect(buildInstallPlan(input({ serviceUserExists: true })).nextSteps.join('\n')).not.toMatch(/adduser|chgrp/);
  });

  test('the same input always gives the same plan', () => {
    expect(buildInstallPlan(input())).toEqual(buildInstallPlan(input()));
  });
});

describe('buildConfigSkeleton', () => {
  test('the skeleton is comment-free JSON with $schema and a 3-knock door that opens ssh for an hour', () => {
    const config = JSON.parse(buildConfigSkeleton('/schema.json', KNOCK)) as Record<string, unknown>;
    expect(config['$schema']).toBe('/schema.json');
    expect(config['logPrefix']).toBe('knocktail: ');
    expect(config['doors']).toEqual([
      {
        name: 'ssh',
        sequence: ['tcp:4711', 'tcp:15000', 'tcp:2222'],
        open: ['tcp:22'],
        openFor: '1h',
        closeSequence: ['tcp:30001'],
      },
    ]);
  });

  test('a skeleton with randomly chosen ports passes the config checks', () => {
    let seed = 7;
    const random = (bound: number): number => (seed = (seed * 48271) % 2147483647) % bound;
    const knock = chooseKnockPorts({ listening: [], ephemeral: [32768, 60999] }, random);
    const result = validateConfig(JSON.parse(buildConfigSkeleton('/schema.json', knock)));
    expect(result.ok).toBe(true);
  });
});

describe('the unit sandbox check of the planned paths', () => {
  const sandboxed = {
    ...assets,
    systemdUnit:
      '[Service]\nProtectSystem=strict\nReadWritePaths=/var/lib/knocktail /var/log/knocktail\nPrivateTmp=yes\nProtectHome=yes\n',
  };

  test.each([
    [
      'stateDir',
      { ...DEFAULT_PATHS, stateDir: '/tmp/kt/state' },
      'the state directory (stateDir) where the service can write it, got /tmp/kt/state: the unit has PrivateTmp=yes',
    ],
    [
      'logFile',
      { ...DEFAULT_PATHS, logFile: '/home/ada/knocks.log' },
      'the knock log (logFile) where the service can read it, got /home/ada/knocks.log: the unit has ProtectHome=yes',
    ],
    [
      'auditLog',
      { ...DEFAULT_PATHS, auditLog: '/var/tmp/audit.log' },
      'the audit log (auditLog) where the service can write it, got /var/tmp/audit.log: the unit has PrivateTmp=yes',
    ],
  ])('a %s the unit hides is refused, naming the key', (_key, paths, message) => {
    expect(() => buildInstallPlan(input({ assets: sandboxed, paths }))).toThrow(message);
  });

  test('a config file under /tmp is refused; the default paths and a directory under /srv pass', () => {
    expect(() => buildInstallPlan(input({ assets: sandboxed, configPath: '/tmp/kt/config.json' }))).toThrow(
      /^Expected the config file where the service can read it, got \/tmp\/kt\/config.json/,
    );
    expect(() => buildInstallPlan(input({ assets: sandboxed }))).not.toThrow();
    expect(() =>
      buildInstallPlan(input({ assets: sandboxed, paths: { ...DEFAULT_PATHS, stateDir: '/srv/kt/state' } })),
    ).not.toThrow();
  });
});
