import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyInstallPlan, hostPath } from '../../src/install/apply-install-plan.js';
import type { InstallPlan } from '../../src/install/install-plan.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ktdep-apply-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function plan(entries: InstallPlan['entries']): InstallPlan {
  return { entries, setup: { kind: 'skip', reason: 'test' }, nextSteps: [] };
}

const unit = {
  kind: 'file',
  path: '/etc/x/unit',
  mode: 0o644,
  content: 'A\n',
  keepExisting: false,
  purpose: 'unit',
} as const;

describe('applyInstallPlan', () => {
  test('a file whose mode drifted is updated in place, content untouched', async () => {
    await applyInstallPlan(plan([unit]), { root, dryRun: false });
    await chmod(join(root, 'etc/x/unit'), 0o666);
    const [applied] = await applyInstallPlan(plan([unit]), { root, dryRun: false });
    expect(applied!.outcome).toBe('updated');
    expect(((await stat(join(root, 'etc/x/unit'))).mode & 0o777).toString(8)).toBe('644');
    expect(await readFile(join(root, 'etc/x/unit'), 'utf8')).toBe('A\n');
  });

  test('no temporary file is left beside a replaced file', async () => {
    await applyInstallPlan(plan([unit]), { root, dryRun: false });
    await applyInstallPlan(plan([{ ...unit, content: 'B\n' }]), { root, dryRun: false });
    expect(await readdir(join(root, 'etc/x'))).toEqual(['unit']);
  });

  test('a symlink planted at the old fixed temp name is not followed: its target keeps content and mode', async () => {
    await mkdir(join(root, 'etc/x'), { recursive: true });
    const victim = join(root, 'victim');
    await writeFile(victim, 'precious\n', { mode: 0o600 });
    await symlink(victim, join(root, 'etc/x/unit.knocktail-new'));
    await applyInstallPlan(plan([unit]), { root, dryRun: false });
    await applyInstallPlan(plan([{ ...unit, content: 'B\n' }]), { root, dryRun: false });
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect(((await stat(victim)).mode & 0o777).toString(8)).toBe('600');
    expect((await lstat(join(root, 'etc/x/unit.knocktail-new'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(root, 'etc/x/unit'), 'utf8')).toBe('B\n');
  });

  test('an existing directory keeps its own mode (it may be shared, like /var/log)', async () => {
    await mkdir(join(root, 'var/log'), { recursive: true, mode: 0o755 });
    const [applied] = await applyInstallPlan(
      plan([{ kind: 'dir', path: '/var/log', mode: 0o750, purpose: 'log directory' }]),
      { root, dryRun: false },
    );
    expect(applied!.outcome).toBe('unchanged');
    expect(((await stat(join(root, 'var/log'))).mode & 0o777).toString(8)).toBe('755');
  });

  test('a file where a directory is planned is reported, not replaced', async () => {
    await writeFile(join(root, 'state'), 'x');
    await expect(
      applyInstallPlan(plan([{ kind: 'dir', path: '/state', mode: 0o700, purpose: 'state directory' }]), {
        root,
        dryRun: false,
      }),
    ).rejects.toThrow(/to be a directory/);
  });

  test('system paths map below the staging root, and stay as they are on /', () => {
    expect(hostPath('/stage', '/etc/knocktail')).toBe('/stage/etc/knocktail');
    expect(hostPath('/', '/etc/knocktail')).toBe('/etc/knocktail');
  });
});
