import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { KnocktailError } from '../../src/model/errors.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { firewallConfig, grantFor, sshDoor } from '../firewall/fixtures.js';
import { createRig, runArgv } from './support/netns.js';
import type { Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';

// A flaky iptables (a wrapper first on PATH that fails N times, then runs the real one):
// the backend retries and the grant is applied; past the retry budget it reports the failure.
describeSystem('firewall commands under a failing iptables', ['ip', 'iptables', 'ip6tables'], () => {
  let rig: Rig;
  let dir: string;
  let realIptables: string;

  async function flakyRunner(failures: number): Promise<ExecaRunner> {
    await writeFile(join(dir, 'count'), '0');
    const script = [
      '#!/bin/sh',
      `n=$(cat '${dir}/count')`,
      `if [ "$n" -lt ${failures} ]; then echo $((n + 1)) > '${dir}/count'; echo 'iptables: simulated failure' >&2; exit 4; fi`,
      `exec '${realIptables}' "$@"`,
    ].join('\n');
    await writeFile(join(dir, 'iptables'), `${script}\n`);
    await chmod(join(dir, 'iptables'), 0o755);
    return new ExecaRunner({
      netns: rig.server,
      env: { PATH: `${dir}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
    });
  }

  beforeAll(async () => {
    rig = await createRig('ktfwretry');
    dir = await mkdtemp(join(tmpdir(), 'ktfw-retry-'));
    realIptables = (await runArgv(['sh', '-c', 'command -v iptables'])).stdout.trim();
  });

  afterAll(async () => {
    await (rig as Rig | undefined)?.destroy(); // unset when beforeAll failed
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a command that fails twice is retried and the grant is applied', async () => {
    const stop = await rig.listen(rig.server, 22);
    const setupBackend = selectBackend(firewallConfig('iptables'), {
      runner: new ExecaRunner({ netns: rig.server }),
      now: Date.now,
    });
    await setupBackend.setup([sshDoor]);
    const backend = selectBackend(firewallConfig('iptables', { retries: 3 }), {
      runner: await flakyRunner(2),
      now: Date.now,
      baseDelayMs: 5,
    });
    await backend.open(grantFor(rig.clientV4, { until: Date.now() + 60_000 }));
    expect(await readFile(join(dir, 'count'), 'utf8')).toBe('2\n');
    expect(await rig.connect(rig.client, rig.serverV4, 22, 2000)).toBe(true);
    await stop();
  });

  test('a command that keeps failing past the retries is reported with its argv and stderr', async () => {
    const backend = selectBackend(firewallConfig('iptables', { retries: 2 }), {
      runner: await flakyRunner(10),
      now: Date.now,
      baseDelayMs: 5,
    });
    const failure = backend.open(grantFor('198.51.100.77'));
    await expect(failure).rejects.toBeInstanceOf(KnocktailError);
    await expect(failure).rejects.toMatchObject({
      code: 'FIREWALL_COMMAND',
      message: expect.stringContaining('iptables -w -S KNOCKTAIL'),
    });
    await expect(failure).rejects.toMatchObject({ message: expect.stringContaining('simulated failure') });
    expect(await readFile(join(dir, 'count'), 'utf8')).toBe('3\n');
  });
});
