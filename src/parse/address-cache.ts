import { normaliseAddress, type Address } from '../address.js';

// A memo of raw address text → normalised address. Knock floods repeat the same few
// addresses, and ipaddr.js parsing is the most expensive step of a line, so the hot path
// looks them up here. Bounded: when full it starts again (cheap, and a flood of distinct
// addresses only costs the parsing it would have cost anyway).
export class AddressCache {
  private readonly entries = new Map<string, Address | null>();

  constructor(private readonly capacity = 4096) {}

  /** The normalised address, or undefined when `raw` is not a valid IP address. */
  normalise(raw: string): Address | undefined {
    const hit = this.entries.get(raw);
    if (hit !== undefined) return hit ?? undefined;
    const address = raw.length <= 45 ? normaliseAddress(raw) : undefined;
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(raw, address ?? null);
    return address;
  }

  get size(): number {
    return this.entries.size;
  }
}
