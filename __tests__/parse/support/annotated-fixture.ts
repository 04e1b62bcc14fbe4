import { readFileSync } from 'node:fs';
import type { ParseContext } from '../../../src/parse/packet.js';

// fail2ban-style annotated logs: "# context: {json}" sets the parse context for the lines
// below it ("localAddresses" as a list), "# expect: {json}" states what the next line must give; other "#" lines are notes.
export interface FixtureCase {
  readonly file: string;
  readonly lineNumber: number;
  readonly line: string;
  readonly context: ParseContext;
  readonly expect: Record<string, unknown>;
}

const DEFAULT_CONTEXT: ParseContext = {
  prefix: 'knocktail: ',
  referenceTime: Date.UTC(2026, 10, 25),
  bootTime: Date.UTC(2026, 10, 24, 15, 48, 38),
  zoneOffsetMinutes: () => 0,
};

export function readAnnotatedFixture(path: string): FixtureCase[] {
  const cases: FixtureCase[] = [];
  let context = DEFAULT_CONTEXT;
  let expect: Record<string, unknown> | undefined;
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    if (line.startsWith('# context: ')) {
      const given = JSON.parse(line.slice(11)) as Partial<Omit<ParseContext, 'localAddresses'>> & {
        localAddresses?: string[];
      };
      const { localAddresses, ...rest } = given;
      context = { ...DEFAULT_CONTEXT, ...rest, ...(localAddresses ? { localAddresses: new Set(localAddresses) } : {}) };
    } else if (line.startsWith('# expect: ')) {
      expect = JSON.parse(line.slice(10)) as Record<string, unknown>;
    } else if (line.startsWith('#')) {
      return;
    } else {
      if (!expect) throw new Error(`${path}:${index + 1}: log line without an "# expect:" line above it`);
      cases.push({ file: path, lineNumber: index + 1, line, context, expect });
      expect = undefined;
    }
  });
  return cases;
}
