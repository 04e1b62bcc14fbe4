import { describe, expect, test } from '@jest/globals';
import { resolveHost, type Lookup } from '../../src/client/resolve-host.js';

function fakeLookup(answers: Record<string, string>): Lookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = (host: string, options: { family: 0 | 4 | 6 }): Promise<{ address: string }> => {
    asked.push(`${host}/${options.family}`);
    const address = answers[`${host}/${options.family}`];
    if (address === undefined) return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    return Promise.resolve({ address });
  };
  return Object.assign(lookup, { asked });
}

describe('resolveHost', () => {
  test('an address literal is used as given, normalised, without a lookup', async () => {
    const lookup = fakeLookup({});
    expect(await resolveHost('2001:DB8:0::1', undefined, lookup)).toEqual({ text: '2001:db8::1', family: 6 });
    expect(lookup.asked).toEqual([]);
  });

  test('a name is looked up in the family asked for', async () => {
    const lookup = fakeLookup({ 'gate.example/6': '2001:db8::5' });
    expect(await resolveHost('gate.example', 6, lookup)).toEqual({ text: '2001:db8::5', family: 6 });
  });

  test('a literal of the other family than -4/-6 asked for is refused', async () => {
    await expect(resolveHost('203.0.113.5', 6, fakeLookup({}))).rejects.toThrow(
      'Expected an IPv6 address for -6, got 203.0.113.5',
    );
  });

  test('a name that does not resolve says so with the resolver code', async () => {
    await expect(resolveHost('nowhere.example', undefined, fakeLookup({}))).rejects.toThrow(
      /nowhere.example.*ENOTFOUND/,
    );
  });
});
