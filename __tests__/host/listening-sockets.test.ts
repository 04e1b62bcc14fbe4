import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatListeningSocket, parseListeningSockets, parsePortRange } from '../../src/host/listening-sockets.js';

// Real /proc/net tables captured in a namespace (see __tests__/fixtures/proc-net/README.md).
const fixture = (name: string): string =>
  readFileSync(join(process.cwd(), '__tests__', 'fixtures', 'proc-net', name), 'utf8');

describe('parseListeningSockets', () => {
  test('the tcp table gives the listening sockets with their addresses, and skips established connections', () => {
    expect(parseListeningSockets(fixture('tcp'), 'tcp', 4)).toEqual([
      { proto: 'tcp', family: 4, address: '0.0.0.0', port: 8080 },
      { proto: 'tcp', family: 4, address: '198.51.100.1', port: 31337 },
      { proto: 'tcp', family: 4, address: '127.0.0.1', port: 5432 },
    ]);
  });

  test('the tcp6 table decodes each 32-bit word of the address in host byte order', () => {
    expect(parseListeningSockets(fixture('tcp6'), 'tcp', 6)).toEqual([
      { proto: 'tcp', family: 6, address: '::', port: 22 },
      { proto: 'tcp', family: 6, address: '2001:db8:1::1', port: 8443 },
    ]);
  });

  test('bound udp sockets are listeners and connected ones are not', () => {
    expect(parseListeningSockets(fixture('udp'), 'udp', 4)).toEqual([
      { proto: 'udp', family: 4, address: '0.0.0.0', port: 53 },
    ]);
    expect(parseListeningSockets(fixture('udp6'), 'udp', 6)).toEqual([
      { proto: 'udp', family: 6, address: '::', port: 5353 },
    ]);
  });

  test('malformed lines and the header are skipped, never thrown', () => {
    const text = [
      '  sl  local_address rem_address   st',
      '   0: ZZZZ:0016 00000000:0000 0A',
      '   1: 00000000:XYZ 00000000:0000 0A',
      'garbage',
      '',
      '   2: 0100007F:0050 00000000:0000 0A',
    ].join('\n');
    expect(parseListeningSockets(text, 'tcp', 4)).toEqual([
      { proto: 'tcp', family: 4, address: '127.0.0.1', port: 80 },
    ]);
    expect(parseListeningSockets('', 'udp', 6)).toEqual([]);
  });
});

describe('formatListeningSocket', () => {
  test('names a socket as ss does, with IPv6 addresses in brackets', () => {
    expect(formatListeningSocket({ proto: 'tcp', family: 4, address: '0.0.0.0', port: 8080 })).toBe('tcp 0.0.0.0:8080');
    expect(formatListeningSocket({ proto: 'udp', family: 6, address: '::', port: 5353 })).toBe('udp6 [::]:5353');
  });
});

describe('parsePortRange', () => {
  test('reads the captured ip_local_port_range, and refuses what is not a range', () => {
    expect(parsePortRange(fixture('ip_local_port_range'))).toEqual([32768, 60999]);
    expect(parsePortRange('1024 65535')).toEqual([1024, 65535]);
    for (const bad of ['', '60999 32768', '0 100', '1 70000', 'a b']) expect(parsePortRange(bad)).toBeUndefined();
  });
});
