import type { Cidr } from './address.js';

// The shared vocabulary: a door as every stage sees it after config validation (the knock engine, the grant engine, the firewall).
export type StepProto = 'tcp' | 'udp' | 'icmp';

/** One knock: a TCP SYN or UDP datagram to a port, or an ICMP/ICMPv6 echo request. */
export interface Step {
  readonly proto: StepProto;
  /** Absent for icmp. */
  readonly port?: number;
}

/** A port the door opens. */
export interface PortSpec {
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
}

export interface TimeBasedSequence {
  /** Shared secret (from the config or a file); both ends derive the same ports from it. */
  readonly secret: string;
  /** The file the secret was read from, when it came from one (check-config checks who can read it). */
  readonly secretFile?: string;
  /** How many knocks a derived sequence has. */
  readonly length: number;
  /** Time window in ms; the sequence changes every window (the previous window is accepted too). */
  readonly period: number;
  /** Port range the derived knocks fall into, inclusive. */
  readonly portRange: readonly [number, number];
  readonly proto: 'tcp' | 'udp';
}

/** A single packet authorization door: fwknop clients' packets to a UDP port (see docs/spa.md). */
export interface SpaSettings {
  /** The UDP port SPA packets are sent to; several doors may share it (their keys tell them apart). */
  readonly port: number;
  /** KEY_BASE64 and HMAC_KEY_BASE64, as read from keyFile and hmacKeyFile (absolute paths). */
  readonly key: string;
  readonly hmacKey: string;
  readonly keyFile: string;
  readonly hmacKeyFile: string;
  /** Oldest (or most future) packet timestamp accepted, ms (fwknop's MAX_SPA_PACKET_AGE). */
  readonly maxAge: number;
  /** Open the address the packet names even when it is not the packet's source (a client behind NAT, `fwknop -R`). */
  readonly allowNat: boolean;
  /** Refuse packets that ask for "the address this came from" (0.0.0.0, `fwknop -s`): fwknop's REQUIRE_SOURCE_ADDRESS. */
  readonly requireSourceAddress: boolean;
}

export interface Door {
  readonly name: string;
  /** Fixed open sequence (empty when the door uses one-time or time-based sequences only). */
  readonly sequence: readonly Step[];
  /** Each usable once; used ones are remembered in the state directory. */
  readonly oneTimeSequences: readonly (readonly Step[])[];
  readonly timeBased?: TimeBasedSequence;
  /** Allowed time from the first to the last knock, ms. */
  readonly timeout: number;
  readonly open: readonly PortSpec[];
  /** Grant lifetime in ms, or null for until-closed. */
  readonly openFor: number | null;
  readonly closeSequence: readonly Step[];
  /** Sources allowed to knock; empty = everyone. */
  readonly allowFrom: readonly Cidr[];
  /** Present for an SPA door (its sequence lists are empty). */
  readonly spa?: SpaSettings;
  /** Most grants this door holds at once (the loader always sets it); absent = only the global limit. */
  readonly maxGrants?: number;
  /** End the source's connections to the open ports when a grant closes (conntrack entries deleted). */
  readonly endSessions?: boolean;
}

/** fwknop's form of a port, "tcp/22" (`fwknop -A`, OPEN_PORTS, ACCESS, SPA access messages); undefined for anything else. */
export function parseFwknopPort(text: string): PortSpec | undefined {
  const match = /^(tcp|udp)\/(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  return match && port >= 1 && port <= 65535 ? { proto: match[1] as PortSpec['proto'], port } : undefined;
}

export function formatStep(step: Step): string {
  return step.proto === 'icmp' ? 'icmp' : `${step.proto}:${step.port}`;
}

export function formatPort(port: PortSpec): string {
  return `${port.proto}:${port.port}`;
}
