import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import semver from 'semver';

// The Node version contract: package.json's `engines` is what the .deb's Depends asks of
// nodejs, and every locked package (runtime and build) accepts its lowest version, so
// `npm ci` on that Node warns of nothing (EBADENGINE) and the product runs there.
// npm's own range rules (semver, a declared dev dependency).
const root = new URL('../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[] }>;
};
const lowest = semver.minVersion(manifest.engines.node)!.version;

describe('the Node version contract', () => {
  test('every locked package accepts the lowest Node that engines allows', () => {
    const refusing = Object.entries(lock.packages)
      .map(([name, entry]) => [name, Array.isArray(entry.engines) ? undefined : entry.engines?.node] as const)
      .filter(([, range]) => range !== undefined && !semver.satisfies(lowest, range))
      .map(([name, range]) => `${name} needs node ${range}`);
    expect(refusing).toEqual([]);
  });

  test("the .deb depends on the same nodejs as engines, and Debian 13's nodejs 20.19 meets it", () => {
    const [major, minor] = lowest.split('.');
    expect(readFileSync(new URL('debian/control.in', root), 'utf8')).toMatch(
      new RegExp(`^Depends: nodejs \\(>= ${major}\\.${minor}\\),`, 'm'),
    );
    expect(semver.satisfies('20.19.2', manifest.engines.node)).toBe(true);
  });
});
