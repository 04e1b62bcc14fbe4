import type { Family } from '../model/address.js';

// One packet as the kernel's LOG target described it: the outer header only.
export type TcpFlag = 'CWR' | 'ECE' | 'URG' | 'ACK' | 'PSH' | 'RST' | 'SYN' | 'FIN';

export interface Packet {
  /** Epoch ms from the line's own timestamp (syslog header, or boot time + kernel uptime). */
  readonly at: number;
  /** The log prefix that tagged the packet, e.g. "knocktail: ". */
  readonly prefix: string;
  /** Interface the packet came in on ("" when absent). */
  readonly in: string;
  readonly family: Family;
  /** Normalised source and destination (IPv6 in RFC 5952 short form). */
  readonly src: string;
  readonly dst: string;
  /** Lower-case protocol: "tcp", "udp", "icmp", "icmpv6", or the kernel's PROTO= text / number. */
  readonly proto: string;
  readonly sport?: number;
  readonly dport?: number;
  /** TCP flags that were set (the bare flag words, never ACK=/SEQ= numbers). */
  readonly flags: ReadonlySet<TcpFlag>;
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Packet length (IP LEN=), when present. */
  readonly len?: number;
  readonly ttl?: number;
}

/** Why a line that carried the prefix gave no packet (for counters and verbose replay). */
export type RejectReason = 'not-kernel' | 'no-timestamp' | 'bad-field' | 'truncated' | 'too-long' | 'binary';

/** Why a genuine kernel packet line is not a knock on this host. */
export type ForeignReason = 'no-in' | 'out-set' | 'dst-not-local';

/** How far in the future of `referenceTime` a line's timestamp may be (clock skew between rsyslog and us): 5 minutes. */
export const DEFAULT_MAX_CLOCK_SKEW = 5 * 60_000;

export interface ParseContext {
  /** The configured LOG prefix; it must start the kernel message. */
  readonly prefix: string;
  /** Reference epoch ms for formats without a year (traditional syslog): the year is chosen so the time is not far in the future of this. */
  readonly referenceTime: number;
  /** Epoch ms at boot, to turn a kernel uptime ([  103.854386], /dev/kmsg) into wall time. */
  readonly bootTime: number;
  /** Offset of the local time zone from UTC in minutes at a given epoch ms, for traditional syslog (defaults to the process zone). */
  readonly zoneOffsetMinutes?: (epochMs: number) => number;
  /**
   * This host's own addresses (normalised): a packet to any other DST= is `foreign`.
   * Undefined only where the destination is deliberately not checked (`replay --any-dst`).
   */
  readonly localAddresses?: ReadonlySet<string>;
  /** Lines stamped more than this many ms after `referenceTime` are malformed (default DEFAULT_MAX_CLOCK_SKEW). */
  readonly maxClockSkew?: number;
  /**
   * `syslog` (default): kernel lines in the syslog formats, the sender checked (`kernel:`, facility kern).
   * `ulogd`: the lines of knocktail's own ulogd2 (LOGEMU after PRINTPKT: `Dec  6 06:23:06 host PREFIX IN=…`),
   * which name no sender: that file is written by ulogd alone, from the configured NFLOG group only
   * (the trust rule of docs/nflog.md). Its time is read with `zoneOffsetMinutes` (UTC: the unit sets TZ).
   */
  readonly header?: 'syslog' | 'ulogd';
}
