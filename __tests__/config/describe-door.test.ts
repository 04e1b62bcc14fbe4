import { describe, expect, test } from '@jest/globals';
import { describeDoor } from '../../src/config/describe-door.js';
import { validateConfig } from '../../src/config/load-config.js';
import { RAW_SSH_DOOR } from '../support/door.js';

function doorsOf(doors: unknown[]) {
  const result = validateConfig({ doors });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config.doors;
}

describe('one line per door', () => {
  test('a fixed sequence reads as knocks, timeout, opened ports, lifetime and close sequence', () => {
    const [ssh] = doorsOf([RAW_SSH_DOOR]);
    expect(describeDoor(ssh!)).toBe(
      'ssh: tcp:7000 udp:8000 tcp:9000 within 15s → opens tcp:22 for 1h, close: tcp:9001',
    );
  });

  test('a one-knock door has no timeout to show and may stay open until closed', () => {
    const [classic] = doorsOf([
      { name: 'classic', sequence: ['tcp:31600'], openFor: 'until-closed', closeSequence: ['tcp:31601'] },
    ]);
    expect(describeDoor(classic!)).toBe('classic: tcp:31600 → opens tcp:22 until closed, close: tcp:31601');
  });

  test('one-time and time-based sequences and allowed sources are shown', () => {
    const [door] = doorsOf([
      {
        name: 'multi',
        oneTimeSequences: [['udp:5000', 'udp:5001']],
        timeBased: { secret: '0123456789abcdef0123456789abcdef', portRange: [40000, 50000] },
        open: ['tcp:443', 'udp:443'],
        allowFrom: ['2001:db8::/32'],
      },
    ]);
    expect(describeDoor(door!)).toBe(
      'multi: 1 one-time sequence or time-based 3 × tcp in 40000-50000 changing every 30s within 25s → opens tcp:443 udp:443 for 1h, from 2001:db8::/32',
    );
  });
});
