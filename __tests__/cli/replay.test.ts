import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { runCliCaptured } from './run-cli.js';

const demo = ['replay', '--config', 'examples/config.json', 'examples/demo.log'];

describe('knocktail replay', () => {
  test('--json over the demo prints the opens and closes of DESIGN.md, in log order, then the summary', async () => {
    const { code, stdout } = await runCliCaptured([...demo, '--json']);
    expect(code).toBe(0);
    const records = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => [r['event'], r['door'] ?? null, r['src'] ?? null, r['reason'] ?? null])).toEqual([
      ['open', 'classic', '203.0.113.10', null],
      ['open', 'ssh', '203.0.113.20', null],
      ['open', 'web6', '2001:db8::40', null],
      ['close', 'ssh', '203.0.113.20', 'expired'],
      ['close', 'classic', '203.0.113.10', 'close-sequence'],
      ['summary', null, null, null],
    ]);
    // Exact field order and formats of the contract.
    expect(Object.keys(records[0]!)).toEqual(['event', 'door', 'src', 'ports', 'at', 'until']);
    expect(records[0]).toMatchObject({ ports: ['tcp:22'], until: null });
    expect(records[0]!['at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Object.keys(records[3]!)).toEqual(['event', 'door', 'src', 'reason', 'at']);
    // The ssh grant (openFor 30s) closes exactly 30 s of log time after it opened.
    expect(Date.parse(records[3]!['at'] as string) - Date.parse(records[1]!['at'] as string)).toBe(30_000);
    expect(records[5]).toEqual({
      event: 'summary',
      lines: 38,
      packets: 17,
      knocks: 10,
      opens: 3,
      closes: 2,
      malformed: 1,
      ignored: 20,
      foreign: 0,
      oversized: 0,
      localAddresses: ['203.0.113.1', '2001:db8::1'],
    });
  });

  test('a knock from another namespace (DST= not ours) is foreign and opens nothing, unless --any-dst; the summary says which', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-foreign-'));
    try {
      const log = join(dir, 'foreign.log');
      const knock = (dst: string, out = ''): string =>
        `2026-11-24T15:50:23.000000+00:00 vm kernel: knocktail: IN=veth0 OUT=${out} SRC=203.0.113.66 DST=${dst} LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=31600 WINDOW=64240 RES=0x00 SYN URGP=0 \n`;
      await writeFile(log, knock('8.8.8.8') + knock('203.0.113.1', 'eth1'));
      const checked = await runCliCaptured(['replay', '--config', 'examples/config.json', log, '--json']);
      expect(
        checked.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      ).toEqual([
        {
          event: 'summary',
          lines: 2,
          packets: 0,
          knocks: 0,
          opens: 0,
          closes: 0,
          malformed: 0,
          ignored: 0,
          foreign: 2,
          oversized: 0,
          localAddresses: ['203.0.113.1', '2001:db8::1'],
        },
      ]);
      const any = await runCliCaptured(['replay', '--config', 'examples/config.json', log, '--json', '--any-dst']);
      const records = any.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.map((r) => [r['event'], r['src'] ?? null])).toEqual([
        ['open', '203.0.113.66'],
        ['summary', null],
      ]);
      // OUT= set is never this host's INPUT, whatever the destination check.
      expect(records[1]).toMatchObject({ packets: 1, foreign: 1, localAddresses: 'any' });
      const human = await runCliCaptured(['replay', '--config', 'examples/config.json', log]);
      expect(human.stdout).toContain('2 foreign (not INPUT packets for this host)');
      expect(human.stdout).toContain('DST= must be one of 203.0.113.1, 2001:db8::1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the human report shows the tallies, the grants and what was still open at the end', async () => {
    const { code, stdout } = await runCliCaptured([...demo, '--audit']);
    expect(code).toBe(0);
    expect(stdout).toContain('Lines:   38 read, 17 packets, 1 malformed, 20 ignored (1 forged userspace line)');
    expect(stdout).toContain('SYN retransmits ignored');
    expect(stdout).toMatch(/ssh\s+6\s+1\s+0\s+1\s+2\s+0/);
    expect(stdout).toMatch(/Still open when the log ended \(1\):\ndoor +source +ports\nweb6 +2001:db8::40 +tcp:443\n/);
    expect(stdout).toContain('"event":"close","at":');
  });

  test('--verbose --json adds progress and reset records (the wrong-order and timed-out attempts)', async () => {
    const { stdout } = await runCliCaptured([...demo, '--json', '--verbose']);
    const events = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.filter((e) => e['event'] === 'reset').map((e) => [e['src'], e['reason']])).toEqual([
      ['203.0.113.30', 'timeout'],
      ['203.0.113.40', 'timeout'],
    ]);
    expect(events.some((e) => e['event'] === 'progress')).toBe(true);
  });

  test('--verbose shows the progress and the resets in the human report too, not only with --json', async () => {
    const { stdout } = await runCliCaptured([...demo, '--verbose']);
    expect(stdout).toMatch(/Progress and resets \(\d+\):\ntime \(UTC\) +event +door +source +sequence\n/);
    expect(stdout).toMatch(/ reset +ssh +203\.0\.113\.30 +open: timeout\n/);
    expect(stdout).toMatch(/ progress +ssh +203\.0\.113\.20 +open step 2 of 3\n/);
    expect((await runCliCaptured(demo)).stdout).not.toContain('Progress and resets');
  });

  test('--audit-file writes every audit record, which `knocktail audit --file` then reads; --audit says it writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ktdt-replay-audit-'));
    try {
      const file = join(dir, 'audit.log');
      const run = await runCliCaptured([...demo, '--audit', '--audit-file', file]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Audit trail (written to ${file}):`);
      const written = readFileSync(file, 'utf8');
      expect(
        written
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { event: string }).event),
      ).toEqual(['open', 'open', 'open', 'close', 'close']);
      expect(run.stdout).toContain(written);
      const audit = await runCliCaptured(['audit', '--file', file]);
      expect(audit.code).toBe(0);
      expect(audit.stdout).toMatch(/203\.0\.113\.20/);
      expect((await runCliCaptured([...demo, '--json', '--audit-file', file])).stderr).toContain(
        'replay never overwrites an audit file',
      );
      expect((await runCliCaptured([...demo, '--audit'])).stdout).toMatch(
        /Audit trail \(not written: a live run appends it to \/\S+\/demo-audit\.log; --audit-file FILE writes it for `knocktail audit --file FILE`\):/,
      );
      expect(await runCliCaptured([...demo, '--audit', '--json'])).toMatchObject({
        code: 2,
        stderr: expect.stringContaining('with --json write it with --audit-file FILE'),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a log written by a LOG rule with another prefix gets a hint naming the prefixes seen, and --prefix replays it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ktdt-replay-prefix-'));
    try {
      const log = join(dir, 'other.log');
      await writeFile(
        log,
        readFileSync('examples/demo.log', 'utf8').replaceAll('kernel: knocktail: ', 'kernel: ipt-drop: '),
      );
      const plain = await runCliCaptured(['replay', '--config', 'examples/config.json', log]);
      expect(plain.stdout).toContain(' 0 packets,');
      expect(plain.stderr).toMatch(
        /no netfilter line among the first 2,000 of each file carries the prefix "knocktail: " \(logPrefix\), so they are ignored; they carry "ipt-drop: " \(\d+ lines\)(, "[^"]*" \(\d+ lines?\))*: replay with --prefix "ipt-drop: "/,
      );
      const fixed = await runCliCaptured([
        'replay',
        '--config',
        'examples/config.json',
        '--prefix',
        'ipt-drop: ',
        '--json',
        log,
      ]);
      const original = await runCliCaptured([...demo, '--json']);
      expect(fixed.stdout).toBe(original.stdout);
      expect(fixed.stderr).not.toContain('--prefix');
      expect(original.stderr).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a gzip-compressed log replays exactly like the plain one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
    try {
      const gz = join(dir, 'demo.log.gz');
      await writeFile(gz, gzipSync(readFileSync('examples/demo.log')));
      const plain = await runCliCaptured([...demo, '--json']);
      const zipped = await runCliCaptured(['replay', '--config', 'examples/config.json', gz, '--json']);
      expect(zipped.stdout).toBe(plain.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing log file is a clear runtime error, exit 1', async () => {
    const { code, stderr } = await runCliCaptured([
      'replay',
      '--config',
      'examples/config.json',
      'examples/no-such.log',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain('examples/no-such.log');
  });

  test('a bad config is refused with exit 2 before anything is read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
    try {
      const config = join(dir, 'config.json');
      await writeFile(config, JSON.stringify({ doors: [{ name: 'ssh', sequence: ['tcp:7000'], openFor: 'soon' }] }));
      const { code, stderr } = await runCliCaptured(['replay', '--config', config, 'examples/demo.log']);
      expect(code).toBe(2);
      expect(stderr).toContain('doors[0].openFor');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('with the configured backend on the simulated firewall', () => {
    const knock = (time: string) =>
      `${time} vm kernel: knocktail: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.9 DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=7000 WINDOW=64240 RES=0x00 SYN URGP=0\n`;
    const withConfig = async (
      backend: string,
      log: string,
      run: (config: string, path: string) => Promise<void>,
      mtime?: Date,
    ) => {
      const dir = await mkdtemp(join(tmpdir(), 'kt-replay-'));
      try {
        const config = join(dir, 'config.json');
        await writeFile(
          config,
          JSON.stringify({
            firewall: { backend },
            doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'], openFor: '30s' }],
          }),
        );
        const path = join(dir, 'knocks.log');
        await writeFile(path, log);
        if (mtime) await utimes(path, mtime, mtime);
        await run(config, path);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    };

    test('--commands prints the nft -i batches an nftables daemon would run, setup first, then the open and the expiry close', async () => {
      await withConfig(
        'nftables',
        knock('2026-11-24T12:00:00.000000+00:00') + knock('2026-11-24T12:01:00.000000+00:00'),
        async (config, path) => {
          const { code, stdout } = await runCliCaptured(['replay', '--config', config, path, '--commands', '--json']);
          expect(code).toBe(0);
          const commands = stdout
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as { event: string; at: string | null; argv?: string[]; input?: string })
            .filter((r) => r.event === 'command');
          expect(commands[0]).toMatchObject({ at: null, argv: ['nft', '-f', '-'] });
          const session = commands.filter((c) => c.argv?.join(' ') === 'nft -i');
          expect(session.map((c) => [c.at, c.input?.split(';')[0]?.trim()])).toEqual([
            ['2026-11-24T12:00:00.000Z', 'add element inet knocktail door-ssh-v4 { 203.0.113.9 }'],
            ['2026-11-24T12:00:30.000Z', 'add element inet knocktail door-ssh-v4 { 203.0.113.9 }'],
            ['2026-11-24T12:01:00.000Z', 'add element inet knocktail door-ssh-v4 { 203.0.113.9 }'],
          ]);
          expect(session[1]!.input).toContain('delete element inet knocktail door-ssh-v4 { 203.0.113.9 }');
        },
      );
    });

    test('a traditional-format log takes its year from the file, not from today', async () => {
      await withConfig(
        'iptables',
        knock('Dec 31 23:59:50'),
        async (config, path) => {
          const { stdout } = await runCliCaptured(['replay', '--config', config, path, '--json']);
          const open = JSON.parse(stdout.split('\n')[0]!) as { event: string; at: string };
          expect(open).toMatchObject({ event: 'open' });
          expect(open.at.slice(0, 4)).toBe('2019');
        },
        new Date('2020-01-01T00:00:10Z'),
      );
    });
  });
});
