import { describe, expect, test } from '@jest/globals';
import type { ParseContext } from '../../src/parse/packet.js';
import { splitSyslogHeader } from '../../src/parse/syslog-header.js';

const ctx: ParseContext = {
  prefix: 'knocktail: ',
  referenceTime: Date.UTC(2026, 10, 24, 16, 0, 0),
  bootTime: Date.UTC(2026, 10, 24, 15, 48, 38),
  zoneOffsetMinutes: () => 0,
};
const MESSAGE = 'knocktail: IN=eth0 OUT=';

function header(line: string, context: ParseContext = ctx) {
  const found = splitSyslogHeader(line, context);
  return (
    found && {
      at: Number.isNaN(found.at) ? 'NaN' : new Date(found.at).toISOString(),
      kernel: found.kernel,
      message: line.slice(found.messageStart),
    }
  );
}

describe('splitSyslogHeader', () => {
  test('reads RSYSLOG_FileFormat and skips the kernel uptime kept in the message', () => {
    expect(header(`2026-11-24T15:50:22.137638+00:00 vm kernel: [  103.854386] ${MESSAGE}`)).toEqual({
      at: '2026-11-24T15:50:22.137Z',
      kernel: true,
      message: MESSAGE,
    });
  });

  test('reads journalctl short-iso-precise offsets without a colon', () => {
    expect(header(`2026-11-24T17:50:22.137638+0200 vm kernel: ${MESSAGE}`)?.at).toBe('2026-11-24T15:50:22.137Z');
  });

  test('reads traditional syslog in the zone the context gives', () => {
    const cet: ParseContext = { ...ctx, zoneOffsetMinutes: () => 60 };
    expect(header(`Nov 24 15:50:22 vm kernel: ${MESSAGE}`, cet)?.at).toBe('2026-11-24T14:50:22.000Z');
  });

  test('puts a traditional time that would be more than a day ahead into the previous year', () => {
    const newYear: ParseContext = { ...ctx, referenceTime: Date.UTC(2027, 0, 1, 0, 5) };
    expect(header(`Dec 31 23:59:58 vm kernel: ${MESSAGE}`, newYear)?.at).toBe('2026-12-31T23:59:58.000Z');
    expect(header(`Jan  1 00:04:00 vm kernel: ${MESSAGE}`, newYear)?.at).toBe('2027-01-01T00:04:00.000Z');
    expect(header(`Jan  1 12:00:00 vm kernel: ${MESSAGE}`, newYear)?.at).toBe('2027-01-01T12:00:00.000Z');
  });

  test('finds the leap year a Feb 29 traditional line belongs to', () => {
    const in2029: ParseContext = { ...ctx, referenceTime: Date.UTC(2029, 5, 1) };
    expect(header(`Feb 29 10:00:00 vm kernel: ${MESSAGE}`, in2029)?.at).toBe('2028-02-29T10:00:00.000Z');
  });

  test('uses the process zone when the context gives none', () => {
    const withoutZone: ParseContext = { prefix: ctx.prefix, referenceTime: ctx.referenceTime, bootTime: ctx.bootTime };
    const at = splitSyslogHeader(`Nov 24 15:50:22 vm kernel: ${MESSAGE}`, withoutZone)?.at ?? NaN;
    expect(at + new Date(at).getTimezoneOffset() * -60_000).toBe(Date.UTC(2026, 10, 24, 15, 50, 22));
  });

  test('turns /dev/kmsg and dmesg uptimes into wall time from the boot time', () => {
    expect(header(`4,341,103854386,-;${MESSAGE}`)).toEqual({
      at: '2026-11-24T15:50:21.854Z',
      kernel: true,
      message: MESSAGE,
    });
    expect(header(`[  103.854386] ${MESSAGE}`)).toEqual({
      at: '2026-11-24T15:50:21.854Z',
      kernel: true,
      message: MESSAGE,
    });
  });

  test('tells the kernel from userspace by tag, app name and facility', () => {
    expect(header(`2026-11-24T15:50:22Z vm logger: ${MESSAGE}`)?.kernel).toBe(false);
    expect(header(`2026-11-24T15:50:22Z vm kernelx: ${MESSAGE}`)?.kernel).toBe(false);
    expect(header(`<4>1 2026-11-24T15:50:22Z vm kernel - - - ${MESSAGE}`)?.kernel).toBe(true);
    expect(header(`<14>1 2026-11-24T15:50:22Z vm kernel - - - ${MESSAGE}`)?.kernel).toBe(false);
    expect(header(`<4>1 2026-11-24T15:50:22Z vm sshd - - - ${MESSAGE}`)?.kernel).toBe(false);
    expect(header(`13,342,103854386,-;${MESSAGE}`)?.kernel).toBe(false);
  });

  test('refuses a priority with a leading zero, which no syslog daemon and not the kernel writes', () => {
    expect(header(`<3>Nov 24 15:50:22 vm kernel: ${MESSAGE}`)?.kernel).toBe(true);
    expect(header(`<0>Nov 24 15:50:22 vm kernel: ${MESSAGE}`)?.kernel).toBe(true);
    for (const line of [
      `<03>Nov 24 15:50:22 vm kernel: ${MESSAGE}`,
      `<004>1 2026-11-24T15:50:22Z vm kernel - - - ${MESSAGE}`,
      `<00>Nov 24 15:50:22 vm kernel: ${MESSAGE}`,
      `04,341,103854386,-;${MESSAGE}`,
    ]) {
      expect({ line, header: splitSyslogHeader(line, ctx) }).toEqual({ line, header: undefined });
    }
  });

  test('reports a missing RFC 5424 time as NaN rather than guessing one', () => {
    expect(header(`<4>1 - vm kernel - - - ${MESSAGE}`)?.at).toBe('NaN');
  });

  test('rejects headers it does not know', () => {
    for (const line of [
      '',
      'hello',
      '2026-13-01T00:00:00Z vm kernel: x',
      'Foo 24 15:50:22 vm kernel: x',
      '<999>1 x',
      '[abc] x',
      '4,5;x',
      'Nov 24 15:50:22 vm kernel x',
    ]) {
      expect(splitSyslogHeader(line, ctx)).toBeUndefined();
    }
  });
});
