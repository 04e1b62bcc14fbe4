import { createRequire } from 'node:module';
import type ipaddr from 'ipaddr.js';

// ipaddr.js costs ~10 ms to load; it loads on the first address that needs parsing, so a
// command that meets only normal dotted quads (or none: `status`, `--help`) never pays it.
const require = createRequire(import.meta.url);
let library: typeof ipaddr | undefined;
function ip(): typeof ipaddr {
  library ??= require('ipaddr.js') as typeof ipaddr;
  return library;
}

// Addresses are validated and normalised before any use: IPv4 dotted quad, IPv6 in
// RFC 5952 short form, IPv4-mapped IPv6 folded to IPv4.
export type Family = 4 | 6;

export interface Address {
  readonly text: string;
  readonly family: Family;
}

// A dotted quad already in normal form (no leading zeros): by far the most common input,
// and it needs no parsing (ipaddr.js costs microseconds per call on the grant path).
const NORMAL_IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** The normalised address, or undefined when `text` is not a valid IP address. */
export function normaliseAddress(text: string): Address | undefined {
  if (NORMAL_IPV4.test(text)) return { text, family: 4 };
  if (!ip().isValid(text)) return undefined;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ip().parse(text);
  } catch {
    return undefined;
  }
  if (parsed.kind() === 'ipv4') {
    // ipaddr.isValid accepts "1", "0x7f.1" and other legacy forms; only a dotted quad is an address here.
    if (!ip().IPv4.isValidFourPartDecimal(text)) return undefined;
    return { text: parsed.toString(), family: 4 };
  }
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return { text: v6.toIPv4Address().toString(), family: 4 };
  return { text: v6.toRFC5952String(), family: 6 };
}

export interface Cidr {
  readonly text: string;
  readonly family: Family;
  readonly range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/** A CIDR (or a bare address, taken as /32 or /128), or undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  try {
    const withLength = text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`;
    const range = ip().parseCIDR(withLength);
    const family: Family = range[0].kind() === 'ipv4' ? 4 : 6;
    const base = family === 4 ? range[0].toString() : (range[0] as ipaddr.IPv6).toRFC5952String();
    return { text: `${base}/${range[1]}`, family, range };
  } catch {
    return undefined;
  }
}

// A memo only (same text, same parse) of the addresses allowFrom checks: a knocking source
// sends many packets, and parsing costs microseconds each. Bounded: when full it starts again.
const PARSED_CAPACITY = 4096;
const parsedAddresses = new Map<string, ipaddr.IPv4 | ipaddr.IPv6>();

function parseNormalised(text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  let parsed = parsedAddresses.get(text);
  if (parsed === undefined) {
    parsed = ip().parse(text);
    if (parsedAddresses.size >= PARSED_CAPACITY) parsedAddresses.clear();
    parsedAddresses.set(text, parsed);
  }
  return parsed;
}

/** Whether the (normalised) address lies in any of the CIDRs. */
export function addressInAny(address: Address, cidrs: readonly Cidr[]): boolean {
  // Parsing costs microseconds; a list without a CIDR of this family needs none.
  if (!cidrs.some((cidr) => cidr.family === address.family)) return false;
  const parsed = parseNormalised(address.text);
  return cidrs.some((cidr) => cidr.family === address.family && parsed.match(cidr.range));
}

/** What the parser makes of an address field: the address, or why a kernel never prints it. */
export type KernelAddress =
  { readonly ok: true; readonly address: Address } | { readonly ok: false; readonly detail: string };

/**
 * An address as the kernel's LOG target prints it (dotted quad, or IPv6 of an IPv6 header),
 * strictly: no zone id (one host would get many keys), no IPv4-mapped or IPv4-compatible
 * IPv6 (never folded into IPv4, so an IPv4 allowFrom cannot match an IPv6 packet).
 */
export function normaliseKernelAddress(text: string): KernelAddress {
  if (text.includes('%')) return { ok: false, detail: 'zone id' };
  if (!text.includes(':')) {
    if (!ip().IPv4.isValidFourPartDecimal(text)) return { ok: false, detail: 'not an address' };
    return { ok: true, address: { text: ip().IPv4.parse(text).toString(), family: 4 } };
  }
  let v6: ipaddr.IPv6;
  try {
    v6 = ip().IPv6.parse(text);
  } catch {
    return { ok: false, detail: 'not an address' };
  }
  const parts = v6.parts;
  const zeroTo = (n: number): boolean => parts.slice(0, n).every((part) => part === 0);
  // ipaddr.js reads "::1.2.3.4" as mapped too; the text tells the two embedded forms apart.
  if (zeroTo(5) && parts[5] === 0xffff && (!text.includes('.') || /ffff:[\d.]+$/i.test(text)))
    return { ok: false, detail: 'IPv4-mapped' };
  if (text.includes('.') || (zeroTo(6) && (parts[6] !== 0 || parts[7]! > 1)))
    return { ok: false, detail: 'IPv4-compatible' };
  return { ok: true, address: { text: v6.toRFC5952String(), family: 6 } };
}
