import { describe, expect, test } from '@jest/globals';
import { buildConfigSkeleton, DEFAULT_PATHS } from '../../src/install/config-skeleton.js';
import { buildInstallPlan, LOGROTATE_PATH, RSYSLOG_DROPIN_PATH, SYSTEMD_UNIT_PATH, type InstallInput, type PlannedFile } from '../../src/install/install-plan.js';

const assets = {
  rsyslogDropin: 'if $msg startswith "knocktail: " then { action(type="omfile" file="/var/log/knocktail/knocks.log") stop }\n',
  systemdUnit: '[Service]\nReadWritePaths=/var/lib/knocktail /var/log/knocktail\n',
  logrotate: '/var/log/knocktail/knocks.log\n/var/log/knocktail/audit.log\n{\n weekly\n}\n',
};

function input(overrides: Partial<InstallInput> = {}): InstallInput {
  return {
    configPath: '/etc/knocktail/config.json',
    configSkeleton: buildConfigSkeleton('/usr/lib/knocktail/src/config/schema.json'),
    configExists: false,
    paths: DEFAULT_PATHS,
    assets,
    setup: { kind: 'run' },
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
    expect(plan.setup).toEqual({ kind: 'run' });
  });

  test("an existing config is kept, and its prefix and paths shape the snippets", () => {
    const plan = buildInstallPlan(
      input({ configExists: true, paths: { logFile: '/srv/kt/knocks.log', logPrefix: 'kt6: ', stateDir: '/srv/state', auditLog: '/srv/audit/a.log' } }),
    );
    expect(file(plan, '/etc/knocktail/config.json').keepExisting).toBe(true);
    expect(plan.nextSteps.join('\n')).not.toContain('pick your own knock ports');
    expect(plan.entries.filter((entry) => entry.kind === 'dir').map((entry) => entry.path)).toEqual(['/etc/knocktail', '/srv/state', '/srv/kt', '/srv/audit']);
    expect(file(plan, RSYSLOG_DROPIN_PATH).content).toContain('startswith "kt6: "');
    expect(file(plan, RSYSLOG_DROPIN_PATH).content).toContain('file="/srv/kt/knocks.log"');
    expect(file(plan, SYSTEMD_UNIT_PATH).content).toContain('ReadWritePaths=/var/lib/knocktail /var/log/knocktail /srv/state /srv/kt /srv/audit');
    expect(file(plan, LOGROTATE_PATH).content).toContain('/srv/kt/knocks.log\n/srv/audit/a.log\n');
  });

  test('the next steps restart rsyslog and enable the service, and ask to change the public skeleton ports', () => {
    const steps = buildInstallPlan(input()).nextSteps.join('\n');
    expect(steps).toContain('systemctl restart rsyslog');
    expect(steps).toContain('systemctl enable --now knocktail');
    expect(steps).toContain('pick your own knock ports');
  });

  test('the same input always gives the same plan', () => {
    expect(buildInstallPlan(input())).toEqual(buildInstallPlan(input()));
  });
});

describe('buildConfigSkeleton', () => {
  test('the skeleton is comment-free JSON with $schema and the single-knock door', () => {
    const config = JSON.parse(buildConfigSkeleton('/schema.json')) as Record<string, unknown>;
    expect(config['$schema']).toBe('/schema.json');
    expect(config['logPrefix']).toBe('knocktail: ');
    expect(config['doors']).toEqual([{ name: 'classic', sequence: ['tcp:31600'], open: ['tcp:22'], openFor: 'until-closed', closeSequence: ['tcp:31601'] }]);
  });
});
