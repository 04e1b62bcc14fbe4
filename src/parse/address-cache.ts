import { normaliseKernelAddress, type KernelAddress } from '../model/address.js';

// A memo of raw address text → strictly normalised address. Knock floods repeat the same
// few addresses, and ipaddr.js parsing is the most expensive step of a line, so the hot
// path looks them up here. Bounded: when full it starts again (cheap, and a flood of
// distinct addresses only costs the parsing it would have cost anyway).
const TOO_LONG: KernelAddress = Object.freeze({ ok: false, detail: 'not an address' });
// The kernel prints IPv6 in lower case (%pI6); upper case is no line it wrote.
const UPPER_CASE: KernelAddress = Object.freeze({ ok: false, detail: 'upper-case hex' });

// The byte-keyed side (normaliseBytes): a direct-mapped table of raw address bytes, so the
// fast path finds a repeated address without decoding it. Each slot holds one key.
const SLOTS = 1024;
const KEY_BYTES = 46;

/** Looks up what an address text printed by the kernel is. */
export interface AddressReader {
  normalise(raw: string): KernelAddress;
}

/** The normalised address, or why `raw` is no address the kernel prints (no memo). */
export function readKernelAddress(raw: string): KernelAddress {
  return raw.length > 45 ? TOO_LONG : /[A-F]/.test(raw) ? UPPER_CASE : normaliseKernelAddress(raw);
}

/** Every lookup parsed afresh: for callers that parse a line now and then. */
export const UNCACHED: AddressReader = { normalise: readKernelAddress };

export class AddressCache implements AddressReader {
  private readonly entries = new Map<string, KernelAddress>();
  private readonly slotKeys = new Uint8Array(SLOTS * KEY_BYTES);
  private readonly slotLengths = new Uint8Array(SLOTS);
  private readonly slotValues: (KernelAddress | undefined)[] = new Array<KernelAddress | undefined>(SLOTS).fill(
    undefined,
  );

  constructor(private readonly capacity = 4096) {}

  /** normalise() of the latin1 text of `bytes[start, end)`, which must be printable ASCII. */
  normaliseBytes(bytes: Uint8Array, start: number, end: number): KernelAddress {
    const length = end - start;
    if (length >= KEY_BYTES) return TOO_LONG;
    let hash = length;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    const slot = (hash ^ (hash >>> 15)) & (SLOTS - 1);
    const base = slot * KEY_BYTES;
    const keys = this.slotKeys;
    let hit = this.slotLengths[slot] === length && this.slotValues[slot] !== undefined;
    for (let k = 0; hit && k < length; k++) hit = keys[base + k] === bytes[start + k];
    if (hit) return this.slotValues[slot]!;
    const address = this.normalise(Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('latin1'));
    keys.set(bytes.subarray(start, end), base);
    this.slotLengths[slot] = length;
    this.slotValues[slot] = address;
    return address;
  }

  /** The normalised address, or why `raw` is no address the kernel prints. */
  normalise(raw: string): KernelAddress {
    const hit = this.entries.get(raw);
    if (hit !== undefined) return hit;
    const address = readKernelAddress(raw);
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(raw, address);
    return address;
  }

  get size(): number {
    return this.entries.size;
  }
}
