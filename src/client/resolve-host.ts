import { lookup as dnsLookup } from 'node:dns/promises';
import { normaliseAddress, type Address, type Family } from '../model/address.js';
import { KnocktailError } from '../model/errors.js';

// The knock target: an address literal as given, or the first address node:dns finds for a
// name (in the requested family, when -4/-6 was given).
export type Lookup = (host: string, options: { family: 0 | Family }) => Promise<{ address: string }>;

const defaultLookup: Lookup = (host, options) => dnsLookup(host, { family: options.family });

export async function resolveHost(
  host: string,
  family: Family | undefined,
  lookup: Lookup = defaultLookup,
): Promise<Address> {
  const literal = normaliseAddress(host);
  if (literal) {
    if (family !== undefined && literal.family !== family) {
      throw new KnocktailError('USAGE', `Expected an IPv${family} address for -${family}, got ${literal.text}`);
    }
    return literal;
  }
  let found: { address: string };
  try {
    found = await lookup(host, { family: family ?? 0 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new KnocktailError(
      'NOT_FOUND',
      `Expected \`${host}\` to resolve to an IP${family ? `v${family}` : ''} address, got ${code}`,
      { cause: error },
    );
  }
  const address = normaliseAddress(found.address);
  if (!address)
    throw new KnocktailError('NOT_FOUND', `Expected \`${host}\` to resolve to an IP address, got \`${found.address}\``);
  return address;
}
