import { describe, expect, test } from '@jest/globals';
import { parseKnockdConfig, parseKnockdSequence, parseOneTimeSequences } from '../../src/import/knockd-config.js';

describe('parseKnockdConfig', () => {
  test('sections hold their directives with lowercased keys, trimmed values and line numbers', () => {
    const parsed = parseKnockdConfig(
      '[options]\n  UseSyslog\n  LogFile = /var/log/knockd.log\n\n# a comment\n[openSSH]\n\tSequence    = 7000,8000 , 9000\n\tCommand=/sbin/iptables -A INPUT -s %IP% -j ACCEPT\n',
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.options?.flags).toEqual([{ key: 'usesyslog', value: '', line: 2 }]);
    expect(parsed.options?.directives.get('logfile')).toEqual({
      key: 'logfile',
      value: '/var/log/knockd.log',
      line: 3,
    });
    expect(parsed.doors.map((door) => door.name)).toEqual(['openSSH']);
    expect(parsed.doors[0]!.line).toBe(6);
    expect(parsed.doors[0]!.directives.get('sequence')?.value).toBe('7000,8000 , 9000');
    expect(parsed.doors[0]!.directives.get('command')).toEqual({
      key: 'command',
      value: '/sbin/iptables -A INPUT -s %IP% -j ACCEPT',
      line: 8,
    });
  });

  test('lines before any section and nameless sections are reported, not thrown', () => {
    const parsed = parseKnockdConfig('sequence = 1\n[]\nx = y\n');
    expect(parsed.problems).toEqual([
      { line: 1, message: 'a line before any [section]; ignored' },
      { line: 2, message: 'a section header `[]` without a name' },
    ]);
    expect(parsed.doors).toEqual([]);
  });

  test('a key given twice keeps the last value, as knockd does', () => {
    const parsed = parseKnockdConfig('[a]\nseq_timeout = 5\nSEQ_TIMEOUT = 9\n');
    expect(parsed.doors[0]!.directives.get('seq_timeout')?.value).toBe('9');
  });
});

describe('parseKnockdSequence', () => {
  test('bare ports are tcp and :udp/:tcp pick the protocol per port', () => {
    expect(parseKnockdSequence('2222:udp, 3333:TCP,4444')).toEqual({
      ok: true,
      steps: ['udp:2222', 'tcp:3333', 'tcp:4444'],
    });
  });

  test.each(['0', '65536', '7000:icmp', '7000-8000', '', 'abc'])('%j is refused with the expected form', (text) => {
    const parsed = parseKnockdSequence(text);
    expect(parsed).toEqual({ ok: false, reason: expect.stringContaining('expected PORT or PORT:tcp / PORT:udp') });
  });
});

describe('parseOneTimeSequences', () => {
  test('one sequence per line; lines starting with # (used ones) are skipped; bad lines name their number', () => {
    expect(parseOneTimeSequences('#1,2,3\n 4,5:udp,6\n\n7,x\n 8\n')).toEqual({
      sequences: [['tcp:4', 'udp:5', 'tcp:6'], ['tcp:8']],
      problems: [
        {
          line: 4,
          message:
            'not a knock sequence: expected PORT, PORT:tcp or PORT:udp items separated by commas (ports 1-65535)',
        },
      ],
    });
  });
});
