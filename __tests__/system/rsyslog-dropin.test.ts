import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { quoteRainerString, renderRsyslogDropin } from '../../src/install/rsyslog-dropin.js';
import { parseKernelLine } from '../../src/parse/parse-kernel-line.js';
import type { Packet } from '../../src/parse/packet.js';
import { runArgv, type Rig } from './support/netns.js';
import { describeSystem } from './support/requirements.js';
import { readLines, startLoggingRig, waitForLines, type LoggingRig, type PrivateRsyslog } from './support/rsyslog.js';

// The shipped drop-in in a private rsyslogd: real LOG lines from a network namespace reach
// the knock log in RSYSLOG_FileFormat and parse into packets; forged "kernel" messages from
// userspace do not, and weaker filters (facility alone, program name alone, input alone)
// are shown letting them through.

const shipped = readFileSync(new URL('../../rsyslog/30-knocktail.conf', import.meta.url), 'utf8');
const prefix = `ktdep${randomBytes(3).toString('hex')}: `;
// For the text match alone: `$` and `.` would mean something in a regex or to rsyslog unescaped.
const textPrefix = `kt$.${randomBytes(3).toString('hex')}: `;
const KERNEL_INPUTS = '($inputname == "imklog" or $inputname == "imkmsg")';
const PERL_SEND =
  'my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM(), Peer => shift @ARGV) or die $!; $s->send($_) or die $! for @ARGV';
const FORGED_SRC = '203.0.113.66';
const forgedBody = (src: string): string =>
  `${prefix}IN=ktfws OUT= MAC= SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=7101 WINDOW=64240 RES=0x00 SYN URGP=0 `;

describeSystem(
  'the rsyslog drop-in',
  ['rsyslogd', 'logger', 'iptables', 'ip6tables', 'ip', 'ping', 'perl', 'sysctl'],
  () => {
    let dir: string;
    let rsyslog: PrivateRsyslog | undefined;
    let rig: Rig | undefined;
    let knocks: string;

    const file = (name: string): string => join(dir, name);
    const log = (argv: string[]): Promise<unknown> =>
      runArgv(['logger', '-u', rsyslog!.socket, ...argv], { timeoutMs: 5000 });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ktdep-rsyslog-'));
      knocks = file('out/knocks.log');
      await writeFile(
        file('30-knocktail.conf'),
        renderRsyslogDropin(shipped, { prefix, logFile: knocks, group: 'root' }),
      );
      // The same drop-in, fed from the userspace socket instead of the kernel, to try its text match.
      const textOnly = renderRsyslogDropin(shipped, {
        prefix: textPrefix,
        logFile: file('text-filter.log'),
        group: 'root',
      });
      expect(textOnly).toContain(KERNEL_INPUTS);
      await writeFile(file('text-filter.conf'), textOnly.replace(KERNEL_INPUTS, '$inputname == "imuxsock"'));
      const ours = quoteRainerString(prefix);
      // Each weaker filter writes what it would accept to its own file; none of them stops the message.
      const rules = [
        `if $msg contains ${ours} then {`,
        `  if $syslogfacility-text == "kern" then action(type="omfile" file="${file('facility-only.log')}" template="RSYSLOG_FileFormat")`,
        `  if $programname == "kernel" then action(type="omfile" file="${file('programname-only.log')}" template="RSYSLOG_FileFormat")`,
        `  if ($inputname == "imklog" or $inputname == "imkmsg") then action(type="omfile" file="${file('input-only.log')}" template="RSYSLOG_FileFormat")`,
        `  if $inputname == "imuxsock" then action(type="omfile" file="${file('userspace.log')}" template="RSYSLOG_FileFormat")`,
        '}',
        `include(file="${file('30-knocktail.conf')}")`,
        `include(file="${file('text-filter.conf')}")`,
      ].join('\n');
      logging = await startLoggingRig(dir, rules, prefix, [
        ['-p', 'tcp', '--dport', '7101'],
        ['-p', 'udp', '--dport', '7102'],
      ]);
      ({ rsyslog, rig } = logging);
    }, 60_000);

    let logging: LoggingRig | undefined;
    afterAll(async () => {
      await logging?.stop();
      if (dir && process.env['KTDEP_KEEP'] === undefined) await rm(dir, { recursive: true, force: true });
    }, 30_000);

    test('forged kernel messages from userspace never reach the knock log, while each weaker filter lets one through', async () => {
      // logger names itself "kernel"; with -p kern.warning util-linux still sends user.warning.
      await log(['-t', 'kernel', forgedBody(FORGED_SRC)]);
      await log(['-p', 'kern.warning', '-t', 'kernel', forgedBody(FORGED_SRC)]);
      // A raw datagram to the socket can claim facility kern: <4> is kern.warning.
      await runArgv([
        'perl',
        '-MIO::Socket::UNIX',
        '-e',
        PERL_SEND,
        rsyslog!.socket,
        `<4>kernel: ${forgedBody('203.0.113.67')}`,
      ]);
      // Root may write into the kernel ring buffer itself; the kernel files it as facility user.
      // (The newline ends the record: without it the kernel holds it open for a continuation.)
      await writeFile('/dev/kmsg', `<4>${forgedBody('203.0.113.68')}\n`);
      await log(['-t', 'marker', `${prefix}marker`]);

      const userspace = await waitForLines(file('userspace.log'), (lines) =>
        lines.some((line) => line.includes('marker')),
      );
      expect(userspace.some((line) => line.includes('marker'))).toBe(true);
      const viaKmsg = await waitForLines(file('input-only.log'), (lines) =>
        lines.some((line) => line.includes('203.0.113.68')),
      );

      expect((await readLines(file('programname-only.log'))).filter((line) => line.includes(FORGED_SRC))).toHaveLength(
        2,
      );
      expect((await readLines(file('facility-only.log'))).some((line) => line.includes('203.0.113.67'))).toBe(true);
      expect(viaKmsg.some((line) => line.includes('203.0.113.68'))).toBe(true);
      expect((await readLines(knocks)).filter((line) => /203\.0\.113\.6[678]/.test(line))).toEqual([]);
    }, 30_000);

    test('the text match takes the prefix literally at the start, optionally after the kernel uptime stamp', async () => {
      const sent = [
        `${textPrefix}IN=a`,
        `[ 1234.567890] ${textPrefix}IN=b`,
        `[12345.000001] ${textPrefix}IN=c`,
        `x ${textPrefix}IN=d`,
        `${textPrefix.replace('$.', '$X')}IN=e`,
        `[ 1.2] foo ${textPrefix}IN=f`,
        `${textPrefix.toUpperCase()}IN=g`,
        `${textPrefix}IN=z`,
      ];
      await runArgv([
        'perl',
        '-MIO::Socket::UNIX',
        '-e',
        PERL_SEND,
        rsyslog!.socket,
        ...sent.map((text) => `<4>kernel: ${text}`),
      ]);
      const lines = await waitForLines(file('text-filter.log'), (found) => found.some((line) => line.endsWith('IN=z')));
      expect(lines.map((line) => line.slice(-1))).toEqual(['a', 'b', 'c', 'z']);
    }, 30_000);

    test('real TCP, UDP and ICMP knocks from the client namespace land as RSYSLOG_FileFormat lines that parse into packets', async () => {
      const client = rig!.client;
      expect(await rig!.connect(client, rig!.serverV4, 7101, 300)).toBe(false);
      const udp = `const s = require('node:dgram').createSocket('udp4'); s.send(Buffer.alloc(0), 7102, '${rig!.serverV4}', () => s.close());`;
      expect((await rig!.exec(client, [process.execPath, '-e', udp], { timeoutMs: 5000 })).exitCode).toBe(0);
      await rig!.exec(client, ['ping', '-4', '-c', '1', '-W', '1', '-n', rig!.serverV4], { timeoutMs: 5000 });
      await rig!.exec(client, ['ping', '-6', '-c', '1', '-W', '1', '-n', rig!.serverV6], { timeoutMs: 5000 });

      const lines = await waitForLines(knocks, (found) => found.length >= 4);
      const context = { prefix, referenceTime: Date.now(), bootTime: Date.now() - uptime() * 1000 };
      for (const line of lines)
        expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d \S+ kernel: /);
      const packets = lines
        .map((line) => parseKernelLine(line, context))
        .map((result) => (result.kind === 'packet' ? result.packet : result));
      const summary = (packets as Packet[]).map((packet) => [
        packet.family,
        packet.src,
        packet.proto,
        packet.dport ?? packet.icmpType,
      ]);
      expect(summary).toEqual([
        [4, rig!.clientV4, 'tcp', 7101],
        [4, rig!.clientV4, 'udp', 7102],
        [4, rig!.clientV4, 'icmp', 8],
        [6, rig!.clientV6, 'icmpv6', 128],
      ]);
      expect(((await stat(knocks)).mode & 0o777).toString(8)).toBe('640');
      expect(((await stat(file('out'))).mode & 0o777).toString(8)).toBe('750');
      const at = (packets as Packet[]).map((packet) => packet.at);
      for (const time of at) expect(Math.abs(time - Date.now())).toBeLessThan(60_000);
    }, 30_000);
  },
);
