import { describe, expect, test } from '@jest/globals';
import { formatInstallReport } from '../../src/install/install-report.js';
import type { InstallPlan } from '../../src/install/install-plan.js';

const plan: InstallPlan = {
  entries: [],
  setup: { kind: 'run' },
  knock: {
    door: 'ssh',
    sequence: ['tcp:4711', 'tcp:15000', 'tcp:2222'],
    close: ['tcp:30001'],
    effect: 'opens tcp:22 for 1h',
  },
  nextSteps: ['1. keep this ssh session open'],
};

describe('formatInstallReport', () => {
  test('prints the door, its knock and the client command after the setup line', () => {
    const lines = formatInstallReport(plan, [], { dryRun: false, setupDone: true });
    const at = lines.indexOf("firewall setup done: knocktail's chains, LOG and guard rules are in place");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at + 1, at + 4)).toEqual([
      '',
      'Door "ssh": knock tcp:4711 tcp:15000 tcp:2222 → opens tcp:22 for 1h; close: tcp:30001',
      'Client command: knocktail knock HOST tcp:4711 tcp:15000 tcp:2222',
    ]);
    expect(lines.at(-1)).toBe('  1. keep this ssh session open');
  });

  test('a setup that failed (a refused host firewall) is said so, and the knock is still printed', () => {
    const lines = formatInstallReport(plan, [], { dryRun: false, setupDone: false, setupFailed: true });
    expect(lines).toContain('firewall setup failed; the error follows');
    expect(lines).toContain('Client command: knocktail knock HOST tcp:4711 tcp:15000 tcp:2222');
  });
});
