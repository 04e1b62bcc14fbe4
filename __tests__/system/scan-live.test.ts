import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { describeSystem } from './support/requirements.js';
import { CLASSIC_DOOR, createLiveRig, type LiveRig } from './support/live-rig.js';
import { readLines } from './support/rsyslog.js';

// Issue #17: a full random-order SYN scan (Debian's nmap, -T5) from one address against the live
// daemon (rsyslog, iptables, the guard's tripwires) never leaves 22 open for the scanner, while
// the owner at another address gets in right after. Each scan comes from a fresh address (a
// secondary address of the client namespace), so no scan profits from an earlier one's mark.
const QUICK_DOOR = { name: 'quick', sequence: ['tcp:31700'], open: ['tcp:22'], openFor: '4s' };
const SCANS = 6;
const scannerAddress = (scan: number): string => `198.51.100.${20 + scan}`;
const SCANNER_V6 = '2001:db8:1::66';

describe.each(['iptables', 'nftables', 'ipset'] as const)('%s backend', (backend) => {
  describeSystem(
    `a port scan opens nothing (live daemon, nmap, rsyslog, ${backend})`,
    ['ip', 'iptables', 'ip6tables', 'ipset', 'nft', 'rsyslogd', 'nmap'],
    () => {
      let live: LiveRig;

      beforeAll(async () => {
        live = await createLiveRig({ backend, doors: [CLASSIC_DOOR, QUICK_DOOR] });
        for (let scan = 1; scan <= SCANS; scan++) {
          const added = await live.rig.exec(live.rig.client, [
            'ip',
            'addr',
            'add',
            `${scannerAddress(scan)}/24`,
            'dev',
            'ktfwc',
          ]);
          if (added.exitCode !== 0) throw new Error(`cannot add a scanner address: ${added.stderr}`);
        }
        // Deprecated (preferred_lft 0): never picked as a source by itself, so the owner's connects keep the client's own address.
        const added6 = await live.rig.exec(live.rig.client, [
          'ip',
          '-6',
          'addr',
          'add',
          `${SCANNER_V6}/64`,
          'dev',
          'ktfwc',
          'nodad',
          'preferred_lft',
          '0',
        ]);
        if (added6.exitCode !== 0) throw new Error(`cannot add the IPv6 scanner address: ${added6.stderr}`);
        await live.startDaemon();
      }, 90_000);

      afterAll(async () => {
        await (live as LiveRig | undefined)?.destroy();
      }, 60_000);

      // nmap's grepable verdict for 22 from `source`: bounded in time (--host-timeout) and retries.
      async function nmap(source: string, ports: string): Promise<string> {
        const { rig } = live;
        const v6 = source.includes(':');
        const argv = [
          'nmap',
          ...(v6 ? ['-6'] : []),
          '-sS',
          '-Pn',
          '-n',
          '-T5',
          '--max-retries',
          '1',
          '--host-timeout',
          '120s',
          '-S',
          source,
          '-e',
          'ktfwc',
          '-p',
          ports,
          '-oG',
          '-',
          v6 ? rig.serverV6 : rig.serverV4,
        ];
        const result = await rig.exec(rig.client, argv, { timeoutMs: 150_000 });
        if (result.exitCode !== 0) throw new Error(`nmap failed: ${result.stderr}`);
        return result.stdout;
      }

      const port22 = (grepable: string): string => /\b22\/(\w+)\/tcp/.exec(grepable)?.[1] ?? 'not-listed';

      test.each(Array.from({ length: SCANS }, (_, i) => i + 1))(
        'full scan #%i: 22 never shows open to the scanner, stays closed for it after, and the owner opens it right after',
        async (scan) => {
          const { rig } = live;
          const scanner = scannerAddress(scan);
          const full = await nmap(scanner, '1-65535');
          // While it scanned (nmap probes 22 at a random moment) and after it, 22 is not open to the scanner.
          expect(port22(full)).not.toBe('open');
          await new Promise((done) => setTimeout(done, 1500)); // the last lines reach the daemon
          expect(port22(await nmap(scanner, '22'))).not.toBe('open');
          const mine = (await live.auditRecords()).filter((record) => record['src'] === scanner);
          const opened = mine.filter((record) => record['event'] === 'open').length;
          const closed = mine.filter((record) => record['event'] === 'close').length;
          expect(closed).toBe(opened);
          expect(mine.some((record) => record['event'] === 'reject' && record['reason'] === 'tripwire')).toBe(true);
          // The owner, at the client's own address, knocks the classic door and gets in at once.
          const owner = await live.knockOpenAndClose(rig.serverV4, 31600, 5000);
          // On failure, the daemon's last words say why (a rule command, a mark, a re-setup), and the
          // owner's last lines in the knock log whether the kernel and rsyslog passed the knock on.
          const why = async () =>
            `${live.daemonOutput().slice(-6000)}\nthe owner's last knock log lines:\n${(await readLines(live.logFile))
              .filter((line) => line.includes(`SRC=${rig.clientV4} `))
              .slice(-6)
              .join('\n')}`;
          expect({ ...owner, log: owner.opened ? '' : await why() }).toMatchObject({ opened: true, log: '' });
          // Closing again is housekeeping for the next round, not what this case asserts: the close
          // knock was lost twice in about ten full CI runs, never in ten runs of this file here (alone,
          // under load, after the suites CI runs before it). Say so, with the evidence, and knock again.
          if (!owner.closed) {
            process.stderr.write(
              `scan #${scan}: the owner's close knock did not close 22; knocking again\n${await why()}\n`,
            );
            await rig.connect(rig.client, rig.serverV4, 31601, 200);
            expect(await live.waitClosed(rig.serverV4, 22, 5000)).toBe(true);
          }
        },
        240_000,
      );

      test('the same over IPv6: a full scan opens nothing for the scanner, and the owner opens right after', async () => {
        const { rig } = live;
        expect(port22(await nmap(SCANNER_V6, '1-65535'))).not.toBe('open');
        await new Promise((done) => setTimeout(done, 1500));
        expect(port22(await nmap(SCANNER_V6, '22'))).not.toBe('open');
        const mine = (await live.auditRecords()).filter((record) => record['src'] === SCANNER_V6);
        expect(mine.filter((record) => record['event'] === 'close').length).toBe(
          mine.filter((record) => record['event'] === 'open').length,
        );
        expect(mine.some((record) => record['event'] === 'reject' && record['reason'] === 'tripwire')).toBe(true);
        expect(await live.knockOpenAndClose(rig.serverV6, 31600, 5000)).toEqual({ opened: true, closed: true });
      }, 240_000);
    },
  );
});
