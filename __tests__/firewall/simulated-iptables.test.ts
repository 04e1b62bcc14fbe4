import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { splitRuleLine } from '../../src/firewall/iptables-listing.js';
import { formatRestoreLine, formatRestoreWord } from '../../src/firewall/restore-text.js';
import { SimulatedTables } from '../../src/firewall/simulated-iptables.js';

// The simulator applies a restore line in canonical form by its text; every line must still be
// answered exactly as splitting it and running the words does (what it did for every line before).
function byWords(tables: SimulatedTables, line: string) {
  const result = tables.run(['iptables', ...splitRuleLine(line)]);
  return result.exitCode === 0
    ? result
    : { ...result, stderr: `iptables-restore: line failed: ${line}\n${result.stderr}` };
}

const pieces = [
  '-s',
  '203.0.113.9',
  '-p',
  'tcp',
  '--dport',
  '22',
  '-m',
  'comment',
  '--comment',
  'knocktail door=ssh until=1',
  '-j',
  'ACCEPT',
  '-t',
  'filter',
  '-w',
  '3',
  '',
  'a#b',
  "it's",
  'x"y',
  'back\\slash',
  'tab\there',
  'nb\u00a0sp',
];
const words = fc.array(fc.constantFrom(...pieces), { minLength: 0, maxLength: 5 });
// The same words written the canonical way, or loosely (needless quotes, extra blanks) as a person might.
const text = (spec: readonly string[], loose: readonly boolean[]): string =>
  spec
    .map((word, i) => (loose[i] && !/["\\\s]/.test(word) ? `"${word}"` : formatRestoreWord(word)))
    .join(loose[spec.length] ? '  ' : ' ');
// Specs whose words run() treats specially: a position, a second table flag that stays in the key.
const AWKWARD = [
  ['3'],
  ['-t', 'filter', '-t', 'x', '-j', 'ACCEPT'],
  ['-t', 'x', '-j', 'ACCEPT'],
  ['-w', '-j', 'ACCEPT'],
  ['-j', 'ACCEPT'],
];
const line = fc.record({
  op: fc.constantFrom('-A', '-A', '-D', '-D', '-C', '-I', '-N', '-F', ':'),
  chain: fc.constantFrom('KNOCKTAIL', 'KNOCKTAIL', 'KNOCKTAIL', 'INPUT', 'NOPE', '-t', '-w', '"KNOCKTAIL"'),
  spec: fc.nat(10),
  loose: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
});

// Runs the lines both ways, comparing each answer and the chains after it.
function compare(lines: readonly string[]): void {
  const fast = new SimulatedTables(['KNOCKTAIL']);
  const reference = new SimulatedTables(['KNOCKTAIL']);
  for (const input of lines) {
    expect(fast.restoreLines([input])).toEqual(
      input.startsWith(':') ? reference.restoreLines([input]) : byWords(reference, input),
    );
    expect(fast.run(['iptables', '-S'])).toEqual(reference.run(['iptables', '-S']));
  }
}

describe('SimulatedTables restore lines', () => {
  test('the shapes the text path must leave to the words: a position, a -t kept in a key, a chain named -w', () => {
    compare(['-A KNOCKTAIL 3', '-D KNOCKTAIL 3', '-D KNOCKTAIL 3']);
    compare([
      '-A KNOCKTAIL -j ACCEPT',
      '-A KNOCKTAIL -t filter -t x -j ACCEPT',
      '-D KNOCKTAIL -t x -j ACCEPT',
      '-C KNOCKTAIL -t x -j ACCEPT',
    ]);
    compare([':-w - [0:0]', '-A -w KNOCKTAIL -j ACCEPT', '-A -w -j ACCEPT', '-D -w -j ACCEPT']);
    compare([
      '-A KNOCKTAIL "-j" ACCEPT',
      '-D KNOCKTAIL -j  ACCEPT',
      '-A KNOCKTAIL -m comment --comment "a b"',
      '-D KNOCKTAIL -m comment --comment a\\ b',
      '-D KNOCKTAIL -m comment --comment "a b"',
    ]);
  });

  test('a line applied by its text answers and leaves the chains exactly as the split words would', () => {
    fc.assert(
      fc.property(
        fc.array(words, { minLength: 6, maxLength: 6 }),
        fc.array(line, { maxLength: 40 }),
        (specs, lines) => {
          const fast = new SimulatedTables(['KNOCKTAIL']);
          const reference = new SimulatedTables(['KNOCKTAIL']);
          for (const { op, chain, spec, loose } of lines) {
            const rest = text([...specs, ...AWKWARD][spec]!, loose);
            const input = op === ':' ? `:${chain} - [0:0]` : rest === '' ? `${op} ${chain}` : `${op} ${chain} ${rest}`;
            // A chain declaration is not a rule line: both take it the same (unchanged) way.
            expect(fast.restoreLines([input])).toEqual(
              op === ':' ? reference.restoreLines([input]) : byWords(reference, input),
            );
            expect(fast.run(['iptables', '-S'])).toEqual(reference.run(['iptables', '-S']));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a grant rule added and deleted through restore lines is listed with its words, then gone', () => {
    const tables = new SimulatedTables(['KNOCKTAIL']);
    const spec = [
      '-s',
      '203.0.113.9',
      '-p',
      'tcp',
      '--dport',
      '22',
      '-m',
      'comment',
      '--comment',
      'knocktail door=ssh until=never',
      '-j',
      'ACCEPT',
    ];
    expect(tables.restore(`*filter\n${formatRestoreLine(['-A', 'KNOCKTAIL', ...spec])}\nCOMMIT\n`).exitCode).toBe(0);
    expect(tables.run(['iptables', '-w', '-C', 'KNOCKTAIL', ...spec]).exitCode).toBe(0);
    expect(tables.run(['iptables', '-w', '-S', 'KNOCKTAIL']).stdout).toBe(
      `-N KNOCKTAIL\n-A KNOCKTAIL ${formatRestoreLine(spec)}\n`,
    );
    expect(tables.restore(`*filter\n${formatRestoreLine(['-D', 'KNOCKTAIL', ...spec])}\nCOMMIT\n`).exitCode).toBe(0);
    expect(tables.restore(`*filter\n${formatRestoreLine(['-D', 'KNOCKTAIL', ...spec])}\nCOMMIT\n`)).toMatchObject({
      exitCode: 1,
      stderr: expect.stringContaining('Bad rule'),
    });
    expect(tables.run(['iptables', '-w', '-S', 'KNOCKTAIL']).stdout).toBe('-N KNOCKTAIL\n');
  });
});

// iptables-restore applies a COMMIT all or nothing; so must the simulator, or replay and dry-run
// would go on from firewall states the live daemon never sees.
describe('SimulatedTables transactions', () => {
  const rule = (n: number): string[] => ['-s', `203.0.113.${n}`, '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT'];
  const line = (op: string, n: number): string => formatRestoreLine([op, 'KNOCKTAIL', ...rule(n)]);
  const listing = (tables: SimulatedTables): string => tables.run(['iptables', '-S', 'KNOCKTAIL']).stdout;
  const withRules = (...ns: number[]): SimulatedTables => {
    const tables = new SimulatedTables(['KNOCKTAIL']);
    for (const n of ns) expect(tables.run(['iptables', '-A', 'KNOCKTAIL', ...rule(n)]).exitCode).toBe(0);
    return tables;
  };

  test('a failing line undoes the appends before it', () => {
    const tables = withRules(1);
    const before = listing(tables);
    expect(tables.restore(`*filter\n${line('-A', 2)}\n${line('-A', 3)}\n${line('-D', 9)}\nCOMMIT\n`).exitCode).toBe(1);
    expect(listing(tables)).toBe(before);
  });

  test('a failing line puts back what the deletes before it took, in its place', () => {
    const tables = withRules(1, 2, 3);
    const before = listing(tables);
    expect(
      tables.restore(
        `*filter\n${line('-D', 1)}\n${line('-A', 4)}\n${line('-D', 4)}\n${line('-A', 1)}\n${line('-D', 9)}\nCOMMIT\n`,
      ).exitCode,
    ).toBe(1);
    expect(listing(tables)).toBe(before);
  });

  test('a failing line undoes a chain flushed by its declaration, an insert and a chain created on the way', () => {
    const tables = withRules(1, 2);
    const before = tables.run(['iptables', '-S']).stdout;
    const input = `*filter\n:KNOCKTAIL - [0:0]\n${line('-A', 5)}\n-I KNOCKTAIL 1 ${formatRestoreLine(rule(6))}\n:KNOCKTAIL-NEW - [0:0]\n-A KNOCKTAIL-NEW -j RETURN\n${line('-D', 9)}\nCOMMIT\n`;
    expect(tables.restore(input).exitCode).toBe(1);
    expect(tables.run(['iptables', '-S']).stdout).toBe(before);
  });

  test('an earlier COMMIT stays applied, and the transactions after a failing one are not run', () => {
    const tables = withRules();
    const input = `*filter\n${line('-A', 1)}\nCOMMIT\n*filter\n${line('-A', 2)}\n${line('-D', 9)}\nCOMMIT\n*filter\n${line('-A', 3)}\nCOMMIT\n`;
    expect(tables.restore(input).exitCode).toBe(1);
    expect(listing(tables)).toBe(`-N KNOCKTAIL\n-A KNOCKTAIL ${formatRestoreLine(rule(1))}\n`);
  });

  test('a transaction that succeeds applies every line, deletes and appends in order', () => {
    const tables = withRules(1, 2);
    expect(tables.restore(`*filter\n${line('-D', 1)}\n${line('-A', 3)}\n${line('-A', 1)}\nCOMMIT\n`).exitCode).toBe(0);
    expect(listing(tables)).toBe(
      `-N KNOCKTAIL\n${[2, 3, 1].map((n) => `-A KNOCKTAIL ${formatRestoreLine(rule(n))}`).join('\n')}\n`,
    );
  });
});
