import { normaliseAddress } from '../model/address.js';
import { parseDuration } from '../model/duration.js';
import type { Door, PortSpec, Step } from '../model/door.js';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Config, FleetAuth, FleetConfig } from './types.js';
import type { RawConfig, RawDoor, RawFleet } from './raw-config.js';
import { resolvePath } from './resolve-path.js';
import type { SpaKeyTexts } from './spa-checks.js';
import { parsePortSpec, parseStep } from './steps.js';
import { parseAllowedSource, parseListen } from './value-checks.js';

// The typed Config from a document that passed every check (so every parse here succeeds;
// a failure would be a bug in the checks, reported as such).
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`config checks let an invalid ${what} through`);
  return value;
}

const ms = (text: string): number => must(parseDuration(text), `duration ${JSON.stringify(text)}`);
const steps = (texts: readonly string[]): Step[] =>
  texts.map((text) => must(parseStep(text), `step ${JSON.stringify(text)}`));
const ports = (texts: readonly string[]): PortSpec[] =>
  texts.map((text) => must(parsePortSpec(text), `port ${JSON.stringify(text)}`));

function toDoor(
  raw: RawDoor,
  secret: string | undefined,
  shareOfGrants: number,
  spaKeys: SpaKeyTexts | undefined,
  path: (text: string) => string,
): Door {
  const timeBased = raw.timeBased;
  return {
    name: raw.name,
    sequence: steps(raw.sequence),
    oneTimeSequences: raw.oneTimeSequences.map(steps),
    ...(timeBased === null
      ? {}
      : {
          timeBased: {
            secret: must(secret ?? timeBased.secret ?? undefined, 'time-based secret'),
            ...(secret === undefined || timeBased.secretFile === null
              ? {}
              : { secretFile: path(timeBased.secretFile) }),
            length: timeBased.length,
            period: ms(timeBased.period),
            portRange: [timeBased.portRange[0], timeBased.portRange[1]] as const,
            proto: timeBased.proto,
          },
        }),
    ...(raw.spa === null
      ? {}
      : {
          spa: {
            port: raw.spa.port,
            key: must(spaKeys?.key, 'SPA key'),
            hmacKey: must(spaKeys?.hmacKey, 'SPA HMAC key'),
            keyFile: path(raw.spa.keyFile),
            hmacKeyFile: path(raw.spa.hmacKeyFile),
            maxAge: ms(raw.spa.maxAge),
            allowNat: raw.spa.allowNat,
            requireSourceAddress: raw.spa.requireSourceAddress,
          },
        }),
    timeout: ms(raw.timeout),
    open: ports(raw.open),
    openFor: raw.openFor === 'until-closed' ? null : ms(raw.openFor),
    closeSequence: steps(raw.closeSequence),
    allowFrom: raw.allowFrom.map((text) => {
      const parsed = parseAllowedSource(text);
      return must(parsed.ok ? parsed.cidr : undefined, `CIDR ${JSON.stringify(text)}`);
    }),
    maxGrants: raw.maxGrants ?? shareOfGrants,
    ...(raw.endSessions ? { endSessions: true } : {}),
  };
}

function listenAddress(text: string): string {
  const { host, port } = must(parseListen(text), `listen address ${JSON.stringify(text)}`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The first 8 hex digits of the machine id (systemd's /etc/machine-id, else D-Bus's copy), when there is one. */
export function readMachineId(
  files: readonly string[] = ['/etc/machine-id', '/var/lib/dbus/machine-id'],
): string | undefined {
  for (const file of files) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f]{32}$/.test(id)) return id.slice(0, 8);
    } catch {
      // not there: try the next one
    }
  }
  return undefined;
}

/**
 * The member name when `fleet.host` is not set: the whole host name (two bastions called
 * a.eu.example.net and a.us.example.net stay apart) plus the machine id, so that cloned VMs
 * that kept their host name differ too. Other characters become "-"; at most 63 in all.
 */
export function defaultMemberName(name = hostname(), machineId: () => string | undefined = readMachineId): string {
  const id = machineId();
  const suffix = id === undefined ? '' : `-${id}`;
  const cleaned = name
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .replace(/^[-_]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63 - suffix.length);
  return `${cleaned === '' ? 'knocktail' : cleaned}${suffix}`;
}

function fleetAuth(raw: RawFleet, path: (text: string) => string): FleetAuth {
  if (raw.credentials !== null) return { kind: 'credentials', file: path(raw.credentials) };
  if (raw.user !== null && raw.password !== null) return { kind: 'user', user: raw.user, password: raw.password };
  if (raw.token !== null) return { kind: 'token', token: raw.token };
  return { kind: 'none' };
}

function toFleet(raw: RawFleet, doors: readonly RawDoor[], key: string, path: (text: string) => string): FleetConfig {
  const tls = raw.tls;
  return {
    servers: [...raw.servers],
    group: raw.group,
    host: raw.host ?? defaultMemberName(),
    auth: fleetAuth(raw, path),
    ...(tls === null
      ? {}
      : {
          tls: {
            ...(tls.ca === null ? {} : { ca: path(tls.ca) }),
            ...(tls.cert === null ? {} : { cert: path(tls.cert) }),
            ...(tls.key === null ? {} : { key: path(tls.key) }),
            ...(tls.serverName === null ? {} : { serverName: tls.serverName }),
          },
        }),
    key,
    keyFile: path(raw.keyFile),
    maxClockSkew: ms(raw.maxClockSkew),
    heartbeatInterval: ms(raw.heartbeatInterval),
    replicas: raw.replicas,
    auditRetention: ms(raw.auditRetention),
    doors: doors.filter((door) => door.fleet).map((door) => door.name),
  };
}

/** `secrets[i]` is door i's secret read from its secretFile, when it has one; `spaKeys[i]` an SPA door's keys. */
export function toConfig(
  raw: RawConfig,
  baseDir: string | undefined,
  secrets: ReadonlyMap<number, string>,
  fleetKey?: string,
  spaKeys: ReadonlyMap<number, SpaKeyTexts> = new Map(),
): Config {
  const path = (text: string): string => resolvePath(baseDir, text);
  const { listen, textfile } = raw.metrics;
  return {
    source: raw.source,
    logFile: path(raw.logFile),
    nflog: { group: raw.nflog.group },
    logPrefix: raw.logPrefix,
    stateDir: path(raw.stateDir),
    auditLog: path(raw.auditLog),
    localAddresses: raw.localAddresses.map(
      (text) => must(normaliseAddress(text), `address ${JSON.stringify(text)}`).text,
    ),
    firewall: { ...raw.firewall },
    limits: {
      maxGrants: raw.limits.maxGrants,
      maxTrackedSources: raw.limits.maxTrackedSources,
      maxFailures: raw.limits.maxFailures,
      failWindow: ms(raw.limits.failWindow),
      banFor: ms(raw.limits.banFor),
      scannerHold: ms(raw.limits.scannerHold),
      maxScanners: raw.limits.maxScanners,
      maxOpenFor: ms(raw.limits.maxOpenFor),
      retransmitWindow: ms(raw.limits.retransmitWindow),
      maxClockSkew: ms(raw.limits.maxClockSkew),
      alwaysAllow: raw.limits.alwaysAllow.map((text) => {
        const parsed = parseAllowedSource(text);
        return must(parsed.ok ? parsed.cidr : undefined, `CIDR ${JSON.stringify(text)}`);
      }),
    },
    metrics: {
      ...(listen === null ? {} : { listen: listenAddress(listen) }),
      ...(textfile === null ? {} : { textfile: path(textfile) }),
    },
    // A door without its own maxGrants gets an equal share, so one flooded door cannot starve the others.
    doors: raw.doors.map((door, index) =>
      toDoor(
        door,
        secrets.get(index),
        Math.max(1, Math.floor(raw.limits.maxGrants / raw.doors.length)),
        spaKeys.get(index),
        path,
      ),
    ),
    ...(raw.fleet === null ? {} : { fleet: toFleet(raw.fleet, raw.doors, must(fleetKey, 'fleet key'), path) }),
  };
}
