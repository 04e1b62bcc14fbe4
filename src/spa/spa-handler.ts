import type { Address, Family } from '../model/address.js';
import type { Door, PortSpec } from '../model/door.js';
import { formatPort } from '../model/door.js';
import { openSpaPacket } from './spa-packet.js';
import { decideSpaRequest, type SpaDoor, type SpaRefusal } from './spa-request.js';
import { decodeSpaKeys, type SpaKeys } from './spa-keys.js';
import type { ReplayCache, ReplayEntry } from './replay-cache.js';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';

// One SPA datagram → one grant or one counted refusal. The packet is checked in this order:
// size, shape, HMAC (every door on the port, constant time), decryption and the inner digest,
// age, replay, then the request against the door. Refusals go to the grant engine's reject
// audit (summarised past a burst, like knock rejects) and to the counters.
export type SpaRefusalReason = 'bad-hmac' | 'oversized' | 'replayed' | 'replay-cache-full' | 'grant-limit' | SpaRefusal;

export interface SpaGrantPort {
  full(door: Door): boolean;
  open(
    door: Door,
    src: string,
    family: Family,
    by: 'spa',
    openFor: number,
    detail: { requested: readonly string[]; clientTimeout?: number },
  ): Promise<unknown>;
  refuse(door: string, src: string, reason: string): Promise<void> | undefined;
}

export interface SpaDatagramIn {
  readonly src: Address;
  readonly dport: number;
  readonly payload: Buffer;
  /** Bytes the datagram really had (more than payload.length when the capture cut it). */
  readonly length: number;
}

export type SpaCounterName = 'spaPackets' | 'spaAccepted' | `spaRefused.${SpaRefusalReason}`;

export interface SpaHandlerOptions {
  /** spaDoorsByPort(config.doors). */
  readonly ports: ReadonlyMap<number, readonly SpaCandidate[]>;
  readonly grants: SpaGrantPort;
  readonly cache: ReplayCache;
  readonly now: () => number;
  /** Persist a packet the cache took, before its grant is opened, so a restart still knows it. */
  readonly remember: (entry: ReplayEntry) => Promise<void>;
  readonly count: (name: SpaCounterName) => void;
  /** Every refusal with its detail (the operational log). */
  readonly onRefused?: (door: string, src: string, reason: SpaRefusalReason, detail: string) => void;
  /** Marks `spa-decided` before a packet is remembered and `spa-saved` before its grant (the SPA bench's breakdown). */
  readonly tracer?: Tracer;
  /** Every digest added to the cache, with the door it came to and when its packet turns stale (the fleet shares these). */
  readonly onRecorded?: (door: string, digest: string, until: number) => void;
}

export interface SpaCandidate {
  readonly door: SpaDoor;
  readonly keys: SpaKeys;
}

/** The SPA doors by UDP port, keys decoded once. */
export function spaDoorsByPort(doors: readonly Door[]): Map<number, SpaCandidate[]> {
  const byPort = new Map<number, SpaCandidate[]>();
  for (const door of doors) {
    if (!door.spa) continue;
    const list = byPort.get(door.spa.port) ?? [];
    list.push({ door: door as SpaDoor, keys: decodeSpaKeys(door.spa.key, door.spa.hmacKey) });
    byPort.set(door.spa.port, list);
  }
  return byPort;
}

export class SpaHandler {
  private readonly options: SpaHandlerOptions;

  constructor(options: SpaHandlerOptions) {
    this.options = options;
  }

  /** Handle one datagram; the promise settles when its grant or refusal is recorded. */
  receive(datagram: SpaDatagramIn): Promise<unknown> | undefined {
    const candidates = this.options.ports.get(datagram.dport);
    if (!candidates || candidates.length === 0) return undefined;
    const { count, cache, now: clock } = this.options;
    count('spaPackets');
    const first = candidates[0]!.door.name;
    if (datagram.length > datagram.payload.length)
      return this.refuse(first, datagram.src, 'oversized', `${datagram.length} bytes`);
    const opened = openSpaPacket(datagram.payload, candidates);
    if (opened.kind !== 'opened') {
      const door = opened.kind === 'malformed' ? (opened.candidate?.door.name ?? first) : first;
      const detail =
        opened.kind === 'malformed'
          ? opened.problem
          : opened.kind === 'oversized'
            ? `${opened.bytes} bytes`
            : 'no door on this port has the HMAC key';
      return this.refuse(door, datagram.src, opened.kind, detail);
    }
    const { door } = opened.candidate;
    const now = clock();
    const decision = decideSpaRequest(door, opened.fields, datagram.src, now);
    // A stale packet is never remembered: it could not be accepted later either.
    if (decision.kind === 'refuse' && decision.reason === 'stale')
      return this.refuse(door.name, datagram.src, 'stale', decision.detail);
    if (cache.seen(opened.digest, now))
      return this.refuse(door.name, datagram.src, 'replayed', 'this packet was used before');
    const used = { digest: opened.digest, until: opened.fields.timestamp * 1000 + door.spa.maxAge };
    if (!cache.add(used.digest, used.until, now))
      return this.refuse(door.name, datagram.src, 'replay-cache-full', 'the replay cache is full');
    const tracer = this.options.tracer ?? NO_TRACE;
    tracer.mark('spa-decided');
    const remembered = this.options.remember(used);
    this.options.onRecorded?.(door.name, used.digest, used.until);
    if (decision.kind === 'refuse')
      return remembered.then(() => this.refuse(door.name, datagram.src, decision.reason, decision.detail));
    if (this.options.grants.full(door))
      return remembered.then(() => this.refuse(door.name, datagram.src, 'grant-limit', 'maxGrants reached'));
    count('spaAccepted');
    const requested = decision.requested.map((port: PortSpec) => formatPort(port));
    const detail = {
      requested,
      ...(decision.clientTimeout === undefined ? {} : { clientTimeout: decision.clientTimeout }),
    };
    return remembered.then(() => {
      tracer.mark('spa-saved');
      return this.options.grants.open(
        door,
        decision.address.text,
        decision.address.family,
        'spa',
        decision.openFor,
        detail,
      );
    });
  }

  private refuse(door: string, src: Address, reason: SpaRefusalReason, detail: string): Promise<unknown> | undefined {
    this.options.count(`spaRefused.${reason}`);
    this.options.onRefused?.(door, src.text, reason, detail);
    return this.options.grants.refuse(door, src.text, reason);
  }
}
