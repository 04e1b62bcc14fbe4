import { describe, expect, test } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseKernelLine, type LineResult } from '../../src/parse/parse-kernel-line.js';
import { readAnnotatedFixture } from './support/annotated-fixture.js';

const FIXTURES = join(process.cwd(), '__tests__', 'fixtures');
const files = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.log'))
  .sort();
const OPTIONAL = ['sport', 'dport', 'icmpType', 'icmpCode'] as const;

// The packet's fields in the annotation's vocabulary: ISO time, flags as a sorted list.
function describeResult(result: LineResult, expected: Record<string, unknown>): Record<string, unknown> {
  if (result.kind !== 'packet') return { ...result };
  const packet = result.packet;
  const seen: Record<string, unknown> = { kind: 'packet' };
  for (const key of Object.keys(expected)) {
    if (key === 'kind') continue;
    if (key === 'at') seen['at'] = new Date(packet.at).toISOString();
    else if (key === 'flags') seen['flags'] = [...packet.flags].sort();
    else seen[key] = (packet as unknown as Record<string, unknown>)[key];
  }
  for (const key of OPTIONAL) if (!(key in expected) && packet[key] !== undefined) seen[key] = packet[key];
  return seen;
}

describe('annotated fixture logs', () => {
  test('there are real captures and hand-made negative cases to check', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'rsyslog-file-format.log',
        'rsyslog-traditional.log',
        'rsyslog-rfc5424.log',
        'kmsg.log',
        'dmesg.log',
        'negative.log',
        'header-formats.log',
      ]),
    );
  });

  describe.each(files)('%s', (file) => {
    const cases = readAnnotatedFixture(join(FIXTURES, file));
    test.each(cases.map((c) => [`line ${c.lineNumber}`, c] as const))(
      '%s gives exactly its expectation',
      (_name, c) => {
        const expected = { ...c.expect };
        if (Array.isArray(expected['flags'])) expected['flags'] = [...(expected['flags'] as string[])].sort();
        const result = parseKernelLine(c.line, c.context);
        expect({ file: basename(c.file), ...describeResult(result, expected) }).toEqual({
          file: basename(c.file),
          ...expected,
        });
      },
    );
  });
});
