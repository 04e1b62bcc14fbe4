import { afterEach, describe, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';
import { describeSystem } from './support/requirements.js';

// The unit runs the daemon as the knocktail user with CAP_NET_ADMIN and CAP_NET_RAW only. Here
// every firewall step runs that way, as `nobody` through setpriv, inside the rig's namespaces:
// setup (chains, sets, LOG and guard rules), the daemon (reconcile lists, a knock opens, the
// close knock closes) and teardown, on each backend.
const BACKENDS = ['iptables', 'ipset', 'nftables'] as const;

/** The firewall of the server namespace, as text. */
async function firewallText(live: LiveRig): Promise<string> {
  const parts: string[] = [];
  for (const argv of [['iptables-save'], ['ip6tables-save'], ['nft', 'list', 'ruleset'], ['ipset', 'list', '-n']])
    parts.push((await live.rig.exec(live.rig.server, argv)).stdout);
  return parts.join('\n');
}

describeSystem(
  'the daemon as an unprivileged user with two capabilities',
  ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'rsyslogd', 'setpriv'],
  () => {
    let live: LiveRig | undefined;

    afterEach(async () => {
      await live?.destroy();
      live = undefined;
    }, 30_000);

    describe.each(BACKENDS)('the %s backend', (backend) => {
      test('setup, a knock that opens, a close knock and teardown all work as nobody', async () => {
        live = await createLiveRig({ backend, doors: [CLASSIC_DOOR], runAs: 'nobody' });
        expect(await firewallText(live)).toMatch(/KNOCKTAIL|knocktail/);
        await live.startDaemon();
        const pid = (
          await live.rig.exec(live.rig.server, [
            'sh',
            '-c',
            'pgrep -u nobody -f "run --config $0" | head -n 1',
            live.configPath,
          ])
        ).stdout.trim();
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        expect(status).toMatch(/^Uid:\t65534\t65534\t65534\t65534$/m);
        // Bits 12 and 13: CAP_NET_ADMIN and CAP_NET_RAW, nothing else.
        expect(status).toMatch(/^CapEff:\t0000000000003000$/m);
        const { opened, closed } = await live.knockOpenAndClose(live.rig.serverV4);
        expect({ opened, closed, output: opened && closed ? '' : live.daemonOutput() }).toEqual({
          opened: true,
          closed: true,
          output: '',
        });
        await live.stopDaemon('SIGTERM');
        const teardown = await live.cli(['teardown', '--config', live.configPath]);
        expect(teardown.stderr).toBe('');
        expect(teardown.exitCode).toBe(0);
        expect(await firewallText(live)).not.toMatch(/KNOCKTAIL|knocktail/);
      }, 60_000);
    });
  },
);
