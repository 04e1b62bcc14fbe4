import { describe, expect, test } from '@jest/globals';
import { checkGrant } from '../../src/firewall/grant-check.js';

describe('checkGrant', () => {
  test('passes normalised sources, every time, and still refuses other spellings and the wrong family after they passed', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => checkGrant({ door: 'ssh', src: '2001:db8::1', family: 6 })).not.toThrow();
      expect(() => checkGrant({ door: 'ssh', src: '203.0.113.9', family: 4 })).not.toThrow();
      expect(() => checkGrant({ door: 'ssh', src: '2001:0db8::1', family: 6 })).toThrow('normalised IPv6');
      expect(() => checkGrant({ door: 'ssh', src: '2001:db8::1', family: 4 })).toThrow('normalised IPv4');
      expect(() => checkGrant({ door: 'ssh', src: '203.0.113.9', family: 6 })).toThrow('normalised IPv6');
      expect(() => checkGrant({ door: 'ssh', src: '203.0.113.9 -j DROP', family: 4 })).toThrow('normalised IPv4');
    }
  });

  test('checks the door name whatever the source, and keeps refusing once many sources have passed', () => {
    expect(() => checkGrant({ door: 'Bad door', src: '203.0.113.9', family: 4 })).toThrow('door name');
    for (let i = 0; i < 5000; i++) checkGrant({ door: 'ssh', src: `2001:db8::${(i + 1).toString(16)}`, family: 6 });
    expect(() => checkGrant({ door: 'ssh', src: '2001:db8:0::1', family: 6 })).toThrow('normalised IPv6');
    expect(() => checkGrant({ door: 'ssh', src: '2001:db8::1', family: 6 })).not.toThrow();
    expect(() => checkGrant({ door: 'ssh;', src: '2001:db8::1', family: 6 })).toThrow('door name');
  });
});
