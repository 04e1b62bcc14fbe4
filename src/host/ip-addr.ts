import { normaliseKernelAddress } from '../model/address.js';
import { describeValue, KnocktailError } from '../model/errors.js';

// This host's addresses from `ip -j addr show` (iproute2's JSON): every `local` of every
// interface's addr_info, normalised as the parser normalises DST=, so the two compare as text.
// Loopback addresses are left out: every network namespace has 127.0.0.1 and ::1, so a
// knock to them is another namespace's as likely as ours, and never a remote client's.

/** The argv that lists them (run through the command runner, never a shell). */
export const IP_ADDR_ARGV: readonly string[] = ['ip', '-j', 'addr', 'show'];

/** The normalised local addresses in `ip -j addr show` output. Throws SOURCE_IO on anything else. */
export function parseIpAddrJson(text: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new KnocktailError('SOURCE_IO', `Expected JSON from \`ip -j addr show\`, got ${describeValue(text)}`, {
      cause: error,
    });
  }
  if (!Array.isArray(data))
    throw new KnocktailError(
      'SOURCE_IO',
      `Expected a list of interfaces from \`ip -j addr show\`, got ${describeValue(data)}`,
    );
  const addresses = new Set<string>();
  for (const link of data) {
    const infos = typeof link === 'object' && link !== null ? (link as { addr_info?: unknown }).addr_info : undefined;
    if (!Array.isArray(infos)) continue;
    for (const info of infos) {
      const local = typeof info === 'object' && info !== null ? (info as { local?: unknown }).local : undefined;
      if (typeof local !== 'string') continue;
      const address = normaliseKernelAddress(local);
      if (address.ok && !isLoopback(address.address.text)) addresses.add(address.address.text);
    }
  }
  return [...addresses].sort();
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}
