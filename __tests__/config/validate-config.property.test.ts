import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { validateConfig } from '../../src/config/load-config.js';

// Whatever JSON a user writes, validation answers with a result, never an exception.
const step = fc.oneof(fc.constantFrom('icmp', 'tcp:22', 'tcp:7000', 'udp:8000', 'tcp:0', 'udp:65536'), fc.string());
const duration = fc.oneof(fc.constantFrom('1h', '25s', '0s', 'until-closed', '500ms', '99999999999d'), fc.string());
const nearlyADoor = fc.record(
  {
    name: fc.oneof(fc.constantFrom('ssh', 'web', 'SSH'), fc.string()),
    sequence: fc.array(step, { maxLength: 4 }),
    oneTimeSequences: fc.array(fc.array(step, { maxLength: 3 }), { maxLength: 2 }),
    timeBased: fc.oneof(
      fc.constant(null),
      fc.record({ secret: fc.string(), portRange: fc.array(fc.integer(), { maxLength: 3 }) }, { requiredKeys: [] }),
    ),
    open: fc.array(step, { maxLength: 3 }),
    openFor: duration,
    timeout: duration,
    closeSequence: fc.array(step, { maxLength: 2 }),
    allowFrom: fc.array(
      fc.oneof(
        fc.constantFrom(
          '203.0.113.0/24',
          '203.0.113.9',
          '203.0.113.9/24',
          '2001:db8::/32',
          '2001:db8::1',
          '::ffff:203.0.113.9',
          '10/8',
        ),
        fc.string(),
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const nearlyAConfig = fc.record(
  {
    source: fc.oneof(fc.constantFrom('file', 'kmsg'), fc.jsonValue()),
    limits: fc.oneof(fc.record({ maxOpenFor: duration, banFor: duration }, { requiredKeys: [] }), fc.jsonValue()),
    metrics: fc.oneof(
      fc.record({ listen: fc.oneof(fc.constantFrom(':9469', '[::1]:80'), fc.string()) }, { requiredKeys: [] }),
      fc.jsonValue(),
    ),
    doors: fc.oneof(fc.array(fc.oneof(nearlyADoor, fc.jsonValue()), { maxLength: 4 }), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

function answers(raw: unknown): void {
  const result = validateConfig(raw, { baseDir: '/nonexistent-knocktail-base' });
  expect(result.ok ? result.config.doors.length : result.errors.length).toBeGreaterThan(0);
  if (!result.ok) for (const line of result.errors) expect(line).toMatch(/^\S.*: \S/);
}

describe('validateConfig on arbitrary input', () => {
  test('any JSON value gets a result, never an exception', () => {
    fc.assert(fc.property(fc.jsonValue(), answers), { numRuns: 500 });
  });

  test('documents shaped nearly like a config get a result, never an exception', () => {
    fc.assert(fc.property(nearlyAConfig, answers), { numRuns: 500 });
  });
});
