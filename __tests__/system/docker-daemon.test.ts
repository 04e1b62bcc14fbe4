import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createLiveRig, type LiveRig } from './support/live-rig.js';
import { runPublishedWeb, startDocker } from './support/docker-netns.js';
import type { DockerInNetns } from './support/docker-netns.js';
import { describeSystem } from './support/requirements.js';

// The product end to end next to a real Docker (#19): `knocktail run` (kernel LOG → rsyslog →
// file → daemon) in the server namespace where dockerd publishes a busybox httpd with
// `-p 8080:80`. A real knock opens 8080 for the knocking address only, the close knock shuts
// it, and status names the published port. The backend-level cases (grants, a dockerd restart,
// teardown, ipset) are docker-forward.test.ts.
const WEB_DOOR = {
  name: 'web',
  sequence: ['tcp:31600'],
  open: ['tcp:8080'],
  openFor: 'until-closed',
  closeSequence: ['tcp:31601'],
};

describeSystem(
  'knocktail run next to Docker',
  ['ip', 'nsenter', 'containerd', 'dockerd', 'docker', 'busybox', 'tar', 'iptables', 'nft', 'rsyslogd'],
  () => {
    describe.each(['iptables', 'nftables'] as const)('the %s backend', (backend) => {
      let live: LiveRig;
      let docker: DockerInNetns | undefined;

      beforeAll(async () => {
        live = await createLiveRig({
          backend,
          doors: [WEB_DOOR],
          prepare: async (rig) => {
            docker = await startDocker(rig.server);
            await runPublishedWeb(docker);
          },
        });
        await live.startDaemon();
      }, 120_000);

      afterAll(async () => {
        await (live as LiveRig | undefined)?.stopDaemon().catch(() => undefined);
        await docker?.stop();
        await (live as LiveRig | undefined)?.destroy();
      }, 60_000);

      test('8080 is refused once the daemon is up, and status says Docker publishes it and how it is guarded', async () => {
        expect(await live.waitClosed(live.rig.serverV4, 8080, 5000)).toBe(true);
        // The forward twin is what the daemon's setup put there for it.
        const twin =
          backend === 'iptables'
            ? ['iptables', '-w', '-S', 'DOCKER-USER']
            : ['nft', 'list', 'chain', 'inet', 'knocktail', 'forward'];
        expect((await live.rig.exec(live.rig.server, twin)).stdout).toMatch(
          backend === 'iptables'
            ? /^-A DOCKER-USER -j KNOCKTAIL-FWD$/m
            : /ct original proto-dst 8080 reject with tcp reset/,
        );
        const status = await live.cli(['status', '--config', live.configPath]);
        expect(status.stdout).toMatch(/forward path: tcp:8080 \(IPv4\) is published by DNAT \(iptables nat DOCKER: /);
      });

      test('a knock opens 8080 for the knocking address only; the close knock shuts it', async () => {
        const { rig } = live;
        await rig.connect(rig.client, rig.serverV4, 31600, 200);
        expect(await live.waitOpen(rig.serverV4, 8080, 5000)).toBe(true);
        // The client's IPv6 address is another source: it did not knock.
        expect(await rig.connect(rig.client, rig.serverV6, 8080, 300)).toBe(false);
        await rig.connect(rig.client, rig.serverV4, 31601, 200);
        expect(await live.waitClosed(rig.serverV4, 8080, 5000)).toBe(true);
      });
    });
  },
);
