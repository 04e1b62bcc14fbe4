import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { validateConfig } from '../../src/config/load-config.js';
import {
  importKnockdConfig,
  oneTimeFilesOf,
  type KnockdImport,
  type OneTimeFile,
} from '../../src/import/knockd-import.js';
import { parseKnockdConfig } from '../../src/import/knockd-config.js';

// The knockd configs of knockd's own documentation (Debian's /etc/knockd.conf and the four
// examples of knockd(1)), each converted and then checked by knocktail's config loader.
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const SMTP_FILES = new Map<string, OneTimeFile>([
  ['/etc/knockd/smtp_sequences', { ok: true, text: fixture('smtp_sequences') }],
]);

function convert(text: string, files: ReadonlyMap<string, OneTimeFile> = new Map()): KnockdImport {
  return importKnockdConfig(parseKnockdConfig(text), files);
}

function expectValid(result: KnockdImport): void {
  const checked = validateConfig(result.config);
  expect(checked.ok ? [] : checked.errors).toEqual([]);
}

// The IPv4-only notes (kind `kept`) are checked by the address-family tests alone.
const notes = (result: KnockdImport, kinds: readonly string[] = ['skipped', 'changed', 'ignored']): string[] =>
  result.notes.filter((note) => kinds.includes(note.kind)).map((note) => `${note.kind} ${note.where}: ${note.message}`);

describe('importKnockdConfig on the documentation examples', () => {
  test("Debian's /etc/knockd.conf: openSSH + closeSSH become one door; the custom knock_add door is left out, with why", () => {
    const result = convert(fixture('debian-knockd.conf'));
    expect(result.config.doors).toEqual([
      {
        name: 'ssh',
        sequence: ['tcp:7000', 'tcp:8000', 'tcp:9000'],
        timeout: '5s',
        open: ['tcp:22'],
        openFor: 'until-closed',
        closeSequence: ['tcp:9000', 'tcp:8000', 'tcp:7000'],
        allowFrom: ['0.0.0.0/0'],
      },
    ]);
    expect(notes(result)).toEqual([
      'ignored [options] line 2: UseSyslog: knocktail logs to the journal and writes its own audit trail (`auditLog`)',
      'skipped [openHTTPS] line 19: custom command `/usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP%` is not a plain iptables ACCEPT or ufw allow for %IP% (it runs `/usr/local/sbin/knock_add`, not iptables, ip6tables or ufw); knocktail opens ports itself and runs no commands',
      'changed [closeSSH] line 13: became the closeSequence of door "ssh" (from [openSSH])',
    ]);
    expectValid(result);
  });

  test('example 1: a rule without -p is taken as tcp, and the logfile option is a note', () => {
    const result = convert(fixture('man-example-1.conf'));
    expect(result.config.doors).toEqual([
      {
        name: 'ssh',
        sequence: ['tcp:7000', 'tcp:8000', 'tcp:9000'],
        timeout: '10s',
        open: ['tcp:22'],
        openFor: 'until-closed',
        closeSequence: ['tcp:9000', 'tcp:8000', 'tcp:7000'],
        allowFrom: ['0.0.0.0/0'],
      },
    ]);
    expect(notes(result)).toEqual([
      "ignored [options] line 3: logfile = /var/log/knockd.log: knocktail's audit trail goes to `auditLog` (default /var/log/knocktail/audit.log); the knockd log is not carried over",
      'changed [openSSH] line 9: the command has no `-p` (iptables refuses --dport without it); taken as tcp',
      'changed [closeSSH] line 15: became the closeSequence of door "ssh" (from [openSSH])',
    ]);
    expectValid(result);
  });

  test('example 2: start/stop with cmd_timeout is openFor; an all-ports rule is narrowed to tcp:22 and tcpflags syn,ack is a note', () => {
    const result = convert(fixture('man-example-2.conf'));
    expect(result.config.doors).toEqual([
      {
        name: 'ssh',
        sequence: ['udp:2222', 'tcp:3333', 'udp:4444'],
        timeout: '15s',
        open: ['tcp:22'],
        openFor: '5s',
        allowFrom: ['0.0.0.0/0'],
      },
    ]);
    expect(notes(result).slice(1)).toEqual([
      "changed [opencloseSSH] line 8: tcpflags = syn,ack: knocktail's TCP knocks are the SYNs of new connections, whatever else is set; clients must send plain SYNs (`knocktail knock` and knockd's `knock` do)",
      'changed [opencloseSSH] line 9: the command accepts every tcp port from the knocker (no --dport); knocktail opens named ports only: narrowed to tcp:22, edit `open` if the door served another port',
    ]);
    expectValid(result);
  });

  test.each(['man-example-3.conf', 'man-example-4.conf'])(
    '%s: one_time_sequences become oneTimeSequences, used (#) lines left out',
    (name) => {
      const knockd = parseKnockdConfig(fixture(name));
      expect(oneTimeFilesOf(knockd)).toEqual(['/etc/knockd/smtp_sequences']);
      const result = importKnockdConfig(knockd, SMTP_FILES);
      expect(result.config.doors).toEqual([
        {
          name: 'smtp',
          oneTimeSequences: [
            ['udp:2001', 'tcp:3001', 'tcp:4001'],
            ['tcp:2002', 'udp:3002', 'tcp:4002'],
            ['tcp:2003', 'tcp:3003', 'udp:4003'],
          ],
          timeout: '15s',
          open: ['tcp:25'],
          openFor: '5s',
          ...(name === 'man-example-3.conf' ? { allowFrom: ['0.0.0.0/0'] } : {}),
        },
      ]);
      expect(notes(result).filter((note) => note.startsWith('skipped') || note.includes('_6'))).toEqual([]);
      expectValid(result);
    },
  );
});

describe('importKnockdConfig decisions', () => {
  test('an unreadable one_time_sequences file leaves the door out and says why', () => {
    const result = importKnockdConfig(
      parseKnockdConfig(fixture('man-example-3.conf')),
      new Map([['/etc/knockd/smtp_sequences', { ok: false, reason: 'ENOENT' }]]),
    );
    expect(result.config.doors).toEqual([]);
    expect(notes(result)).toContain(
      'skipped [opencloseSMTP] line 6: cannot read one_time_sequences /etc/knockd/smtp_sequences: ENOENT',
    );
  });

  test('a door with no stop_command and no close door gets the default openFor, with a note', () => {
    const result = convert(
      '[web]\nsequence = 100,200\ncommand = iptables -I INPUT -s %IP% -p tcp --dport 443 -j ACCEPT\n',
    );
    expect(result.config.doors).toEqual([
      { name: 'web', sequence: ['tcp:100', 'tcp:200'], open: ['tcp:443'], allowFrom: ['0.0.0.0/0'] },
    ]);
    expect(notes(result)).toEqual([
      'changed [web] line 3: knockd never closed this rule (no stop_command, no close door); knocktail grants always end: openFor is the default 1h',
    ]);
    expectValid(result);
  });

  test('a stop_command that is not the matching -D still converts: knocktail closes the grant itself', () => {
    const result = convert(
      '[ssh]\nsequence = 100\nstart_command = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\nstop_command = /usr/local/bin/notify %IP%\n',
    );
    expect(result.config.doors).toEqual([
      { name: 'ssh', sequence: ['tcp:100'], open: ['tcp:22'], openFor: '10s', allowFrom: ['0.0.0.0/0'] },
    ]);
    expect(notes(result)).toEqual([
      'changed [ssh] line 4: stop_command does not delete the rule start_command added; knocktail closes the grant itself when openFor ends',
    ]);
  });

  test('a close door that deletes no converted rule, a target and unknown directives are reported', () => {
    const result = convert(
      '[close]\nsequence = 1\ncommand = iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n[wol]\nsequence = 2\ntarget = 198.51.100.7\ncommand = /usr/bin/etherwake x\n[a]\nsequence = 3\ncolour = blue\ncommand = iptables -A INPUT -s %IP% -p udp -j ACCEPT\n',
    );
    expect(result.config.doors).toEqual([]);
    expect(notes(result)).toEqual([
      "skipped [wol] line 6: target = 198.51.100.7: knocktail counts knocks to this host's own addresses only",
      'ignored [a] line 10: colour: not a knockd door directive',
      'skipped [a] line 11: the command accepts every udp port from the knocker; knocktail opens named ports only',
      'skipped [close] line 3: its command deletes a rule that no converted door adds',
    ]);
  });

  test('ufw allow / delete allow pair like iptables -A / -D; without proto ufw opens tcp and udp', () => {
    const result = convert(
      '[openDNS]\nsequence = 100,200\ncommand = ufw allow from %IP% to any port 53\n[closeDNS]\nsequence = 300\ncommand = ufw delete allow from %IP% to any port 53\n',
    );
    expect(result.config.doors).toEqual([
      {
        name: 'dns',
        sequence: ['tcp:100', 'tcp:200'],
        open: ['tcp:53', 'udp:53'],
        openFor: 'until-closed',
        closeSequence: ['tcp:300'],
      },
    ]);
    expectValid(result);
  });

  test('section names become valid, unique door names', () => {
    const door =
      'sequence = 1\ncommand = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\ncmd_timeout = 9\nstop_command = iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n';
    const result = convert(
      `[openSSH]\n${door}[open SSH]\n${door.replace('= 1', '= 2')}[A very long section name]\n${door.replace('= 1', '= 3')}`,
    );
    expect(result.config.doors.map((d) => d.name)).toEqual(['ssh', 'ssh-2', 'a-very-long-sect']);
    expectValid(result);
  });
});

describe('importKnockdConfig never opens a door for an address family knockd did not', () => {
  const door = (commands: string): string => `[ssh]\nsequence = 100,200\n${commands}stop_command = true\n`;

  test('an ip6tables-only door stays IPv6 only, and says so', () => {
    const result = convert(door('start_command = ip6tables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n'));
    expect(result.config.doors[0]).toMatchObject({ open: ['tcp:22'], allowFrom: ['::/0'] });
    expect(notes(result, ['kept'])).toEqual([
      'kept [ssh] line 3: ip6tables takes IPv6 knockers only: the door stays IPv6 only (`allowFrom: ["::/0"]`); drop allowFrom to let IPv4 knockers in too',
    ]);
    expectValid(result);
  });

  test('an iptables door, or one whose start_command_6 is empty, stays IPv4 only', () => {
    expect(
      convert(door('start_command = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n')).config.doors[0]!
        .allowFrom,
    ).toEqual(['0.0.0.0/0']);
    const empty6 = convert(door('start_command = ufw allow from %IP% to any port 22 proto tcp\nstart_command_6 =\n'));
    expect(empty6.config.doors[0]!.allowFrom).toEqual(['0.0.0.0/0']);
    expect(notes(empty6, ['kept'])).toEqual([
      'kept [ssh] line 4: start_command_6 is empty: the door stays IPv4 only (`allowFrom: ["0.0.0.0/0"]`); drop allowFrom to let IPv6 knockers in too',
    ]);
  });

  test('iptables with a matching ip6tables start_command_6, or a ufw command, opens for both families', () => {
    expect(
      convert(
        door(
          'start_command = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\nstart_command_6 = ip6tables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\n',
        ),
      ).config.doors[0]!.allowFrom,
    ).toBeUndefined();
    expect(
      convert(door('start_command = ufw allow from %IP% to any port 22 proto tcp\n')).config.doors[0]!.allowFrom,
    ).toBeUndefined();
  });

  test('a start_command_6 opening other ports loses its IPv6 half, reported as not converted', () => {
    const result = convert(
      door(
        'start_command = iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT\nstart_command_6 = ip6tables -A INPUT -s %IP% -p tcp --dport 2222 -j ACCEPT\n',
      ),
    );
    expect(result.config.doors[0]).toMatchObject({ open: ['tcp:22'], allowFrom: ['0.0.0.0/0'] });
    expect(notes(result, ['skipped'])).toEqual([
      'skipped [ssh] line 4: start_command_6 does not open the same ports as start_command: its IPv6 door is not converted (a knocktail door opens the same ports for both families)',
    ]);
  });
});
