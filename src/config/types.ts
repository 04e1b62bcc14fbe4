import type { Cidr } from '../model/address.js';
import type { Door } from '../model/door.js';

// The validated, typed configuration every stage receives (durations already in ms).
export type BackendName = 'iptables' | 'ipset' | 'nftables' | 'dry-run';
export const BACKEND_NAMES: readonly BackendName[] = ['iptables', 'ipset', 'nftables', 'dry-run'];

export type SourceName = 'file' | 'kmsg' | 'nflog';

export interface FirewallConfig {
  readonly backend: BackendName;
  /** Position of the jump to KNOCKTAIL-GUARD in INPUT (1 = first); "auto": right after the last ban tool's rule (fail2ban, CrowdSec, sshguard), else 1. */
  readonly inputPosition: number | 'auto';
  /** Per-source rate limit of LOG lines for knock ports, e.g. "20/second" (hashlimit syntax). */
  readonly logRateLimit: string;
  /** Seconds between drift checks (re-add missing rules, remove orphans). */
  readonly checkInterval: number;
  /** Retries of a failing firewall command before it is reported failed (closes keep retrying). */
  readonly retries: number;
  /** "check" (default): setup refuses when the host's own firewall would drop what grants accept; "ignore": go ahead. */
  readonly hostFirewall?: 'check' | 'ignore';
  /** What refused NEW packets to knock, tripwire and protected ports get; "auto" (default): drop behind a default-drop host firewall, else reject. */
  readonly refusal?: 'auto' | 'reject' | 'drop';
}

export interface Limits {
  /** Most grants held at once, all doors together (default 1000); also the size of each firewall set. */
  readonly maxGrants: number;
  /** Cap on sources tracked mid-sequence; the least recently seen is evicted past it. */
  readonly maxTrackedSources: number;
  /** Deprecated and ignored (with failWindow and banFor): a ban on wrong knocks let anyone who forges the owner's address lock the owner out. */
  readonly maxFailures: number;
  readonly failWindow: number;
  readonly banFor: number;
  /** How long a source that hit a tripwire port completes no door, ms, from its latest hit (the loader always sets it; default 2 min). */
  readonly scannerHold?: number;
  /** Most sources marked as scanners at once; past it the least recently seen mark goes (the loader always sets it). */
  readonly maxScanners?: number;
  /** Longest grant `knocktail grant --for` may give, ms. */
  readonly maxOpenFor: number;
  /** A TCP SYN with the same source, source port and destination port seen within this many ms of the previous is a retransmit. */
  readonly retransmitWindow: number;
  /** Lines stamped more than this many ms in the future are malformed (the loader always sets it; default 5 min). */
  readonly maxClockSkew?: number;
  /** Sources the guard never blocks on protected ports (fail2ban's ignoreip), normalised. */
  readonly alwaysAllow: readonly Cidr[];
}

export interface MetricsConfig {
  readonly listen?: string;
  readonly textfile?: string;
}

/** How this member authenticates to NATS. */
export type FleetAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'credentials'; readonly file: string }
  | { readonly kind: 'user'; readonly user: string; readonly password: string }
  | { readonly kind: 'token'; readonly token: string };

export interface FleetConfig {
  readonly servers: readonly string[];
  readonly group: string;
  /** This member's name in the group. */
  readonly host: string;
  readonly auth: FleetAuth;
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string; readonly serverName?: string };
  /** The group key (HMAC-SHA256) read from keyFile. */
  readonly key: string;
  readonly keyFile: string;
  readonly maxClockSkew: number;
  readonly heartbeatInterval: number;
  readonly replicas: number;
  readonly auditRetention: number;
  /** Names of the doors marked "fleet": true. */
  readonly doors: readonly string[];
}

export interface Config {
  readonly source: SourceName;
  readonly logFile: string;
  /** The NFLOG group of the guard's rules and of knocktail's ulogd2 (used when `source` is "nflog"). */
  readonly nflog: { readonly group: number };
  readonly logPrefix: string;
  readonly stateDir: string;
  readonly auditLog: string;
  /** This host's addresses (normalised) from the config; empty = read from the system. */
  readonly localAddresses: readonly string[];
  readonly firewall: FirewallConfig;
  readonly limits: Limits;
  readonly metrics: MetricsConfig;
  readonly doors: readonly Door[];
  /** Absent when this host is not in a fleet. */
  readonly fleet?: FleetConfig;
}
