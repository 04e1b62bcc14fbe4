import { normaliseKernelAddress, type KernelAddress } from '../address.js';

// A memo of raw address text → strictly normalised address. Knock floods repeat the same
// few addresses, and ipaddr.js parsing is the most expensive step of a line, so the hot
// path looks them up here. Bounded: when full it starts again (cheap, and a flood of
// distinct addresses only costs the parsing it would have cost anyway).
const TOO_LONG: KernelAddress = Object.freeze({ ok: false, detail: 'not an address' });
// The kernel prints IPv6 in lower case (%pI6); upper case is no line it wrote.
const UPPER_CASE: KernelAddress = Object.freeze({ ok: false, detail: 'upper-case hex' });

export class AddressCache {
  private readonly entries = new Map<string, KernelAddress>();

  constructor(private readonly capacity = 4096) {}

  /** The normalised address, or why `raw` is no address the kernel prints. */
  normalise(raw: string): KernelAddress {
    const hit = this.entries.get(raw);
    if (hit !== undefined) return hit;
    const address = raw.length > 45 ? TOO_LONG : /[A-F]/.test(raw) ? UPPER_CASE : normaliseKernelAddress(raw);
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(raw, address);
    return address;
  }

  get size(): number {
    return this.entries.size;
  }
}
