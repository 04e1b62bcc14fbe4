import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeSystem } from './support/requirements.js';
import { createLiveRig, type LiveRig } from './support/live-rig.js';
import { fwknopArgs, fwknopKeyGen, type SpaKeyPair } from './support/fwknop.js';

// SPA doors end to end with Debian's fwknop client: the guard copies packets to the SPA port
// to NFLOG, the daemon reads them through tcpdump, and a valid packet opens 22. Everything
// else (replays, wrong keys, stale, tampered, a port not in `open`, 10 KB) opens nothing and is
// counted by kind. fwknop 2.6.10 cannot send over IPv6, so the IPv6 case sends the bytes its
// client built for "the address this comes from" (-s) with a plain UDP socket.
const PORT = 62201;
const EXTRA_V4 = '198.51.100.77';
const KNOCK_PORT = 40000;

const home = mkdtempSync(join(tmpdir(), 'kt-fwknop-'));
const keyGen = (): SpaKeyPair => fwknopKeyGen(home);

/** The packet the real client builds (not sent). */
function buildPacket(keys: SpaKeyPair, extra: readonly string[]): string {
  const file = join(home, 'packet');
  const [command, ...args] = fwknopArgs('127.0.0.1', PORT, keys, [...extra, '--test', '--save-packet', file]);
  execFileSync(command!, args, { env: { ...process.env, HOME: home }, stdio: 'ignore' });
  return readFileSync(file, 'utf8').trim();
}

// One datagram from `ns` (bound to `from` when given), payload as base64 argument.
const SEND = `const s=require('dgram').createSocket(process.argv[3].includes(':')?'udp6':'udp4');const go=()=>s.send(Buffer.from(process.argv[1],'base64'),${PORT},process.argv[2],(e)=>{if(e)throw e;s.close()});process.argv[4]?s.bind({address:process.argv[4]},go):go();`;

describeSystem(
  'SPA doors with the real fwknop client (iptables, NFLOG, tcpdump, netns)',
  ['ip', 'iptables', 'ip6tables', 'rsyslogd', 'fwknop', 'tcpdump', 'nmap'],
  () => {
    let live: LiveRig;
    const keys = keyGen();
    const otherKeys = keyGen();

    async function send(payload: Buffer | string, host: string, from?: string): Promise<void> {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
      const result = await live.rig.exec(live.rig.client, [
        'node',
        '-e',
        SEND,
        bytes.toString('base64'),
        host,
        host,
        ...(from ? [from] : []),
      ]);
      if (result.exitCode !== 0) throw new Error(`send failed: ${result.stderr}`);
    }

    async function counters(): Promise<Record<string, number>> {
      const status = await live.cli(['status', '--json', '--config', live.configPath]);
      return (JSON.parse(status.stdout) as { counters: Record<string, number> }).counters;
    }

    async function refusedAfter(kind: string, act: () => Promise<void>): Promise<void> {
      const before = (await counters())[`spaRefused.${kind}`] ?? 0;
      await act();
      expect(await live.waitOpen(live.rig.serverV4, 22, 1500)).toBe(false);
      expect((await counters())[`spaRefused.${kind}`]).toBe(before + 1);
    }

    beforeAll(async () => {
      const write = (name: string, text: string): string => {
        const path = join(home, name);
        writeFileSync(path, `${text}\n`, { mode: 0o600 });
        return path;
      };
      live = await createLiveRig({
        backend: 'iptables',
        // The refusal a bare host gives unused ports (the default "auto" picks it here too).
        extra: { firewall: { backend: 'iptables', checkInterval: 5, refusal: 'reject' } },
        doors: [
          {
            name: 'other',
            spa: {
              port: PORT,
              keyFile: write('other.key', otherKeys.key),
              hmacKeyFile: write('other.hmac', otherKeys.hmac),
            },
            open: ['tcp:2222'],
            openFor: '30s',
          },
          { name: 'knock', sequence: [`udp:${KNOCK_PORT}`], open: ['tcp:22'], openFor: '30s' },
          {
            name: 'spa',
            spa: {
              port: PORT,
              keyFile: write('spa.key', keys.key),
              hmacKeyFile: write('spa.hmac', `HMAC_KEY_BASE64: ${keys.hmac}`),
            },
            open: ['tcp:22'],
            openFor: '30s',
          },
        ],
      });
      await live.rig.exec(live.rig.client, ['ip', 'addr', 'add', `${EXTRA_V4}/24`, 'dev', 'ktfwc']);
      await live.startDaemon();
    }, 60_000);

    afterAll(async () => {
      if (process.env['SPA_DEBUG']) console.log(live.daemonOutput());
      await (live as LiveRig | undefined)?.destroy();
      rmSync(home, { recursive: true, force: true });
    }, 60_000);

    test('a packet from `fwknop -A tcp/22 -a CLIENT` opens 22 for the client within a second', async () => {
      const { rig } = live;
      expect(await rig.connect(rig.client, rig.serverV4, 22, 500)).toBe(false);
      const sent = await rig.exec(rig.client, [
        'env',
        `HOME=${home}`,
        ...fwknopArgs(rig.serverV4, PORT, keys, [
          '-A',
          'tcp/22',
          '-a',
          rig.clientV4,
          '--save-packet',
          join(home, 'sent'),
        ]),
      ]);
      expect(sent.exitCode).toBe(0);
      expect(await live.waitOpen(rig.serverV4, 22, 1000)).toBe(true);
      const open = (await live.auditRecords()).find((r) => r['event'] === 'open' && r['door'] === 'spa');
      expect(open).toMatchObject({ src: rig.clientV4, by: 'spa', requested: ['tcp:22'], ports: ['tcp:22'] });
    }, 30_000);

    test('the same bytes again, after a revoke and from another address, open nothing and count as replayed, also after a restart', async () => {
      const { rig } = live;
      const sent = readFileSync(join(home, 'sent'), 'utf8').trim();
      expect((await live.cli(['revoke', rig.clientV4, '--config', live.configPath])).exitCode).toBe(0);
      expect(await live.waitClosed(rig.serverV4, 22, 3000)).toBe(true);
      await refusedAfter('replayed', () => send(sent, rig.serverV4, EXTRA_V4));
      await live.stopDaemon();
      await live.startDaemon();
      await refusedAfter('replayed', () => send(sent, rig.serverV4, rig.clientV4));
    }, 60_000);

    test('another HMAC key, a stale timestamp, a tampered byte, a port not in `open`, a 10 KB datagram: nothing opens, each is counted', async () => {
      const { rig } = live;
      const wrongHmac = { key: keys.key, hmac: keyGen().hmac };
      await refusedAfter('bad-hmac', () =>
        send(buildPacket(wrongHmac, ['-A', 'tcp/22', '-a', rig.clientV4]), rig.serverV4),
      );
      await refusedAfter('stale', () =>
        send(buildPacket(keys, ['-A', 'tcp/22', '-a', rig.clientV4, '--time-offset-minus', '10m']), rig.serverV4),
      );
      const good = Buffer.from(buildPacket(keys, ['-A', 'tcp/22', '-a', rig.clientV4]), 'latin1');
      good[40] = good[40] === 0x41 ? 0x42 : 0x41;
      await refusedAfter('bad-hmac', () => send(good, rig.serverV4));
      await refusedAfter('port-not-allowed', () =>
        send(buildPacket(keys, ['-A', 'tcp/2222', '-a', rig.clientV4]), rig.serverV4),
      );
      await refusedAfter('oversized', () => send(Buffer.alloc(10 * 1024, 0x41), rig.serverV4));
      await refusedAfter('address-mismatch', () =>
        send(buildPacket(keys, ['-A', 'tcp/22', '-a', '203.0.113.50']), rig.serverV4),
      );
      const rejects = (await live.auditRecords()).filter((r) => r['event'] === 'reject').map((r) => r['reason']);
      expect(rejects).toEqual(
        expect.arrayContaining(['bad-hmac', 'stale', 'port-not-allowed', 'oversized', 'replayed', 'address-mismatch']),
      );
    }, 60_000);

    test('IPv6: the client’s "my source address" packet (-s) over IPv6 opens 22 for its IPv6 address', async () => {
      const { rig } = live;
      expect(await rig.connect(rig.client, rig.serverV6, 22, 500)).toBe(false);
      await send(buildPacket(keys, ['-A', 'tcp/22', '-s']), rig.serverV6);
      expect(await live.waitOpen(rig.serverV6, 22, 1000)).toBe(true);
      const open = (await live.auditRecords()).filter((r) => r['event'] === 'open' && r['src'] === rig.clientV6);
      expect(open).toHaveLength(1);
    }, 30_000);

    test('a UDP scan cannot tell the SPA port from its unused neighbours or a knock port', async () => {
      const { rig } = live;
      const ports = [PORT - 1, PORT, PORT + 1, KNOCK_PORT];
      const scan = await rig.exec(
        rig.client,
        ['nmap', '-n', '-Pn', '-sU', '--max-retries', '1', '-p', ports.join(','), rig.serverV4],
        { timeoutMs: 60_000 },
      );
      const state = new Map([...scan.stdout.matchAll(/^(\d+)\/udp\s+(\S+)/gm)].map((m) => [Number(m[1]), m[2]]));
      expect(ports.map((port) => state.get(port))).toEqual(ports.map(() => 'closed'));
    }, 90_000);
  },
);
