import { describe, expect, test } from '@jest/globals';
import { parseFwknopPort } from '../../src/model/door.js';

// fwknop's "proto/port": the client's -A and the profiles' access, ~/.fwknoprc's ACCESS and the
// access message the server decides on all read it with this one function.
describe('parseFwknopPort', () => {
  test('tcp/PORT and udp/PORT, 1 to 65535', () => {
    expect(parseFwknopPort('tcp/22')).toEqual({ proto: 'tcp', port: 22 });
    expect(parseFwknopPort('udp/65535')).toEqual({ proto: 'udp', port: 65535 });
  });

  test('anything else is undefined', () => {
    for (const text of ['tcp/0', 'tcp/65536', 'tcp:22', 'icmp/1', 'TCP/22', 'tcp/22 ', 'tcp/', 'tcp/123456'])
      expect(parseFwknopPort(text)).toBeUndefined();
  });
});
