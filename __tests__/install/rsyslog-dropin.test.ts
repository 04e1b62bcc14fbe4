import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { quoteRainerString, renderRsyslogDropin } from '../../src/install/rsyslog-dropin.js';
import { KnocktailError } from '../../src/model/errors.js';

const shipped = readFileSync(new URL('../../rsyslog/30-knocktail.conf', import.meta.url), 'utf8');

describe('renderRsyslogDropin', () => {
  test('the shipped drop-in filters on facility kern, the kernel input modules and the default prefix', () => {
    expect(shipped).toContain('$syslogfacility-text == "kern"');
    expect(shipped).toContain('($inputname == "imklog" or $inputname == "imkmsg")');
    expect(shipped).toContain('startswith "knocktail: "');
    expect(shipped).toContain('template="RSYSLOG_FileFormat"');
    expect(shipped).toMatch(/fileCreateMode="0640"/);
    expect(shipped).toMatch(/dirCreateMode="0750"/);
    expect(shipped).toMatch(/^\s+stop$/m);
    expect(shipped).not.toMatch(/^[^#]*\$programname/m);
  });

  test('rendering with the defaults gives the shipped file back', () => {
    expect(renderRsyslogDropin(shipped, { prefix: 'knocktail: ', logFile: '/var/log/knocktail/knocks.log' })).toBe(
      shipped,
    );
  });

  test('the configured prefix and log file replace the defaults', () => {
    const text = renderRsyslogDropin(shipped, { prefix: 'kt-ssh ', logFile: '/srv/log/knocks.log' });
    expect(text).toContain('startswith "kt-ssh "');
    expect(text).toContain('file="/srv/log/knocks.log"');
    expect(text).not.toContain('startswith "knocktail: "');
  });

  test("the knock log is created with the group knocktail, the daemon's own, never adm; a test rig may name another group", () => {
    expect(shipped).toMatch(/action\(type="omfile" [^)]*fileGroup="knocktail" dirGroup="knocktail"\)/);
    expect(shipped).not.toMatch(/Group="adm"/);
    expect(renderRsyslogDropin(shipped, { prefix: 'p', logFile: '/l', group: 'nogroup' })).toContain(
      'fileGroup="nogroup" dirGroup="nogroup"',
    );
  });

  test('a dollar sign in the prefix is escaped so rsyslog does not read it as a variable', () => {
    expect(renderRsyslogDropin(shipped, { prefix: 'k$x: ', logFile: '/l' })).toContain('startswith "k\\$x: "');
  });

  test('a damaged template is reported instead of being written half-rendered', () => {
    expect(() => renderRsyslogDropin('# empty', { prefix: 'p', logFile: '/l' })).toThrow(KnocktailError);
  });
});

describe('quoteRainerString', () => {
  test('backslash, double quote and dollar are escaped', () => {
    expect(quoteRainerString('a\\b"c$d')).toBe('"a\\\\b\\"c\\$d"');
  });

  test('a control character is refused', () => {
    expect(() => quoteRainerString('a\nb')).toThrow(/printable/);
  });
});
