import ipaddr from 'ipaddr.js';

// Addresses are validated and normalised before any use: IPv4 dotted quad, IPv6 in
// RFC 5952 short form, IPv4-mapped IPv6 folded to IPv4.
export type Family = 4 | 6;

export interface Address {
  readonly text: string;
  readonly family: Family;
}

/** The normalised address, or undefined when `text` is not a valid IP address. */
export function normaliseAddress(text: string): Address | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(text);
  } catch {
    return undefined;
  }
  if (parsed.kind() === 'ipv4') {
    // ipaddr.isValid accepts "1", "0x7f.1" and other legacy forms; only a dotted quad is an address here.
    if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
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
    const range = ipaddr.parseCIDR(withLength);
    const family: Family = range[0].kind() === 'ipv4' ? 4 : 6;
    const base = family === 4 ? range[0].toString() : (range[0] as ipaddr.IPv6).toRFC5952String();
    return { text: `${base}/${range[1]}`, family, range };
  } catch {
    return undefined;
  }
}

/** Whether the (normalised) address lies in any of the CIDRs. */
export function addressInAny(address: Address, cidrs: readonly Cidr[]): boolean {
  const parsed = ipaddr.parse(address.text);
  return cidrs.some((cidr) => cidr.family === address.family && parsed.match(cidr.range as [ipaddr.IPv4, number]));
}
