import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { selectBackend } from '../../src/firewall/select-backend.js';
import { makeDoor } from '../support/door.js';
import { firewallConfig, grantFor } from '../firewall/fixtures.js';
import { createRig, pollConnect, runArgv } from './support/netns.js';
import type { Rig } from './support/netns.js';
import { runPublishedWeb, startDocker } from './support/docker-netns.js';
import type { DockerInNetns } from './support/docker-netns.js';
import { describeSystem } from './support/requirements.js';

// A real Docker in the server namespace publishes a busybox httpd with `-p 8080:80` (IPv4, and
// IPv6 through --ip6tables). One dockerd serves every backend in turn; each sets up, grants,
// survives a dockerd restart and tears down. The host's own tables must not change.
const BACKENDS = ['iptables', 'ipset', 'nftables'] as const;
const WEB = makeDoor({
  name: 'web',
  sequence: [{ proto: 'tcp', port: 7300 }],
  open: [{ proto: 'tcp', port: 8080 }],
  closeSequence: [],
});
const REFUSED_MS = 300;

/** The host's own tables (outside every namespace), without counters. */
async function hostTables(): Promise<string> {
  const parts: string[] = [];
  for (const argv of [
    ['iptables', '-w', '-S'],
    ['iptables', '-w', '-t', 'nat', '-S'],
    ['ip6tables', '-w', '-S'],
    ['ip6tables', '-w', '-t', 'nat', '-S'],
  ]) {
    parts.push(`## ${argv.join(' ')}\n${(await runArgv(argv)).stdout}`);
  }
  return parts.join('\n');
}

const webGrant = (src: string) =>
  grantFor(src, { door: 'web', ports: [{ proto: 'tcp', port: 8080 }], until: Date.now() + 120_000 });

describeSystem(
  'Docker-published ports behind the forward twin',
  ['ip', 'nsenter', 'containerd', 'dockerd', 'docker', 'busybox', 'tar', 'iptables', 'ip6tables', 'ipset', 'nft'],
  () => {
    let rig: Rig;
    let docker: DockerInNetns | undefined;
    let hostBefore: string;
    const stops: (() => Promise<void>)[] = [];

    /** Waits until Docker has (re)published the container's port. */
    const published = async (): Promise<boolean> => pollConnect(rig, rig.client, rig.serverV4, 8080, true, 20_000);

    beforeAll(async () => {
      hostBefore = await hostTables();
      rig = await createRig('ktdk');
      docker = await startDocker(rig.server);
      await runPublishedWeb(docker, { restart: 'always' });
      // A service of the client's on 8080: the container connecting out to it must pass.
      stops.push(await rig.listen(rig.client, 8080));
    }, 120_000);

    afterAll(async () => {
      for (const stop of stops) await stop().catch(() => undefined);
      await docker?.stop();
      await (rig as Rig | undefined)?.destroy();
      expect(await hostTables()).toBe(hostBefore);
    }, 60_000);

    test('Docker publishes 8080 over IPv4 and IPv6 with DNAT, and it is reachable before any setup', async () => {
      expect((await rig.exec(rig.server, ['iptables', '-w', '-t', 'nat', '-S', 'DOCKER'])).stdout).toMatch(
        /--dport 8080 -j DNAT/,
      );
      expect(await published()).toBe(true);
      expect(await pollConnect(rig, rig.client, rig.serverV6, 8080, true, 10_000)).toBe(true);
    });

    describe.each(BACKENDS)('the %s backend', (name) => {
      let backend: FirewallBackend;

      beforeAll(() => {
        backend = selectBackend(
          { ...firewallConfig(name), logPrefix: `ktdk-${process.pid}: ` },
          { runner: new ExecaRunner({ netns: rig.server }), now: Date.now, baseDelayMs: 10, forward: true },
        );
      });

      afterAll(async () => {
        await backend.stop?.();
      });

      test('after setup 8080 is refused over IPv4 and IPv6', async () => {
        await backend.setup([WEB]);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, REFUSED_MS)).toBe(false);
        expect(await rig.connect(rig.client, rig.serverV6, 8080, REFUSED_MS)).toBe(false);
      });

      test("another address's grant opens nothing for the client; the client's own does, until it is closed", async () => {
        const other = webGrant('198.51.100.99');
        await backend.open(other);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, REFUSED_MS)).toBe(false);
        for (const [src, dst] of [
          [rig.clientV4, rig.serverV4],
          [rig.clientV6, rig.serverV6],
        ] as const) {
          const grant = webGrant(src);
          await backend.open(grant);
          expect(await rig.connect(rig.client, dst, 8080, 2000)).toBe(true);
          await backend.close(grant);
          expect(await rig.connect(rig.client, dst, 8080, REFUSED_MS)).toBe(false);
        }
        await backend.close(other);
      });

      test("the container's own outbound connection (to a port 8080 elsewhere) works", async () => {
        const out = await docker!.cli(['exec', 'web', 'nc', '-w', '2', rig.clientV4, '8080'], { timeoutMs: 10_000 });
        expect(out.exitCode).toBe(0);
      });

      test('a dockerd restart while armed keeps 8080 hidden, before and after the periodic check; grants still work', async () => {
        await docker!.restart();
        // Docker recreated its rules; wait until its DNAT is back (the container restarts with it).
        await expect(
          (async () => {
            for (let i = 0; i < 100; i++) {
              if (
                (await rig.exec(rig.server, ['iptables', '-w', '-t', 'nat', '-S', 'DOCKER'])).stdout.includes(
                  '--dport 8080 -j DNAT',
                )
              )
                return true;
              await new Promise((done) => setTimeout(done, 200));
            }
            return false;
          })(),
        ).resolves.toBe(true);
        // IPv4: DOCKER-USER (kept by Docker) holds the jump, so no gap. IPv6: Docker 20.10 has no DOCKER-USER there and puts
        // its FORWARD rules back ahead of the jump, so IPv6 may be open until the periodic check (docs/docker.md).
        expect(await rig.connect(rig.client, rig.serverV4, 8080, REFUSED_MS)).toBe(false);
        await backend.checkForward!([WEB]);
        expect(await rig.connect(rig.client, rig.serverV4, 8080, REFUSED_MS)).toBe(false);
        expect(await rig.connect(rig.client, rig.serverV6, 8080, REFUSED_MS)).toBe(false);
        const grant = webGrant(rig.clientV4);
        await backend.open(grant);
        expect(await pollConnect(rig, rig.client, rig.serverV4, 8080, true, 20_000)).toBe(true);
        await backend.close(grant);
      }, 90_000);

      test("teardown leaves Docker's forwarding working", async () => {
        await backend.teardown();
        expect(await published()).toBe(true);
        const filter =
          (await rig.exec(rig.server, ['iptables-save'])).stdout +
          (await rig.exec(rig.server, ['nft', 'list', 'ruleset'])).stdout;
        expect(filter).not.toMatch(/KNOCKTAIL|knocktail/);
      });
    });
  },
);
