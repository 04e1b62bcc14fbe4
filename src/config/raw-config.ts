// The config file's shape once the schema has passed and filled the defaults: what
// the semantic checks read and `toConfig` converts (strings still as written).
export interface RawTimeBased {
  readonly secret: string | null;
  readonly secretFile: string | null;
  readonly length: number;
  readonly period: string;
  readonly portRange: readonly [number, number];
  readonly proto: 'tcp' | 'udp';
}

export interface RawSpa {
  readonly port: number;
  readonly keyFile: string;
  readonly hmacKeyFile: string;
  readonly maxAge: string;
  readonly allowNat: boolean;
  readonly requireSourceAddress: boolean;
}

export interface RawDoor {
  readonly name: string;
  readonly sequence: readonly string[];
  readonly oneTimeSequences: readonly (readonly string[])[];
  readonly timeBased: RawTimeBased | null;
  readonly spa: RawSpa | null;
  readonly timeout: string;
  readonly open: readonly string[];
  readonly openFor: string;
  readonly closeSequence: readonly string[];
  readonly allowFrom: readonly string[];
  readonly endSessions: boolean;
  readonly fleet: boolean;
  readonly maxGrants: number | null;
}

export interface RawFleet {
  readonly servers: readonly string[];
  readonly group: string;
  readonly host: string | null;
  readonly keyFile: string;
  readonly credentials: string | null;
  readonly user: string | null;
  readonly password: string | null;
  readonly token: string | null;
  readonly tls: {
    readonly ca: string | null;
    readonly cert: string | null;
    readonly key: string | null;
    readonly serverName: string | null;
  } | null;
  readonly maxClockSkew: string;
  readonly heartbeatInterval: string;
  readonly replicas: number;
  readonly auditRetention: string;
}

export interface RawConfig {
  readonly source: 'file' | 'kmsg' | 'nflog';
  readonly logFile: string;
  readonly nflog: { readonly group: number };
  readonly logPrefix: string;
  readonly stateDir: string;
  readonly auditLog: string;
  readonly localAddresses: readonly string[];
  readonly firewall: {
    readonly backend: 'iptables' | 'ipset' | 'nftables' | 'dry-run';
    readonly inputPosition: number | 'auto';
    readonly logRateLimit: string;
    readonly checkInterval: number;
    readonly retries: number;
    readonly hostFirewall: 'check' | 'ignore';
    readonly refusal: 'auto' | 'reject' | 'drop';
  };
  readonly limits: {
    readonly maxGrants: number;
    readonly maxTrackedSources: number;
    readonly maxFailures: number;
    readonly failWindow: string;
    readonly banFor: string;
    readonly scannerHold: string;
    readonly maxScanners: number;
    readonly maxOpenFor: string;
    readonly retransmitWindow: string;
    readonly maxClockSkew: string;
    readonly alwaysAllow: readonly string[];
  };
  readonly metrics: { readonly listen: string | null; readonly textfile: string | null };
  readonly doors: readonly RawDoor[];
  readonly fleet: RawFleet | null;
}

/** The array at `value`, or [] when it is not one (the schema reports that). */
export function arrayOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
