import { normaliseAddress } from '../address.js';
import { parseDuration } from '../duration.js';
import type { Door, PortSpec, Step } from '../model/door.js';
import type { Config } from './types.js';
import type { RawConfig, RawDoor } from './raw-config.js';
import { resolvePath } from './resolve-path.js';
import { parsePortSpec, parseStep } from './steps.js';
import { parseAllowedSource, parseListen } from './value-checks.js';

// The typed Config from a document that passed every check (so every parse here succeeds;
// a failure would be a bug in the checks, reported as such).
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`config checks let an invalid ${what} through`);
  return value;
}

const ms = (text: string): number => must(parseDuration(text), `duration ${JSON.stringify(text)}`);
const steps = (texts: readonly string[]): Step[] => texts.map((text) => must(parseStep(text), `step ${JSON.stringify(text)}`));
const ports = (texts: readonly string[]): PortSpec[] => texts.map((text) => must(parsePortSpec(text), `port ${JSON.stringify(text)}`));

function toDoor(raw: RawDoor, secret: string | undefined, shareOfGrants: number): Door {
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
            length: timeBased.length,
            period: ms(timeBased.period),
            portRange: [timeBased.portRange[0], timeBased.portRange[1]] as const,
            proto: timeBased.proto,
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
  };
}

function listenAddress(text: string): string {
  const { host, port } = must(parseListen(text), `listen address ${JSON.stringify(text)}`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `secrets[i]` is door i's secret read from its secretFile, when it has one. */
export function toConfig(raw: RawConfig, baseDir: string | undefined, secrets: ReadonlyMap<number, string>): Config {
  const path = (text: string): string => resolvePath(baseDir, text);
  const { listen, textfile } = raw.metrics;
  return {
    source: raw.source,
    logFile: path(raw.logFile),
    logPrefix: raw.logPrefix,
    stateDir: path(raw.stateDir),
    auditLog: path(raw.auditLog),
    localAddresses: raw.localAddresses.map((text) => must(normaliseAddress(text), `address ${JSON.stringify(text)}`).text),
    firewall: { ...raw.firewall },
    limits: {
      maxGrants: raw.limits.maxGrants,
      maxTrackedSources: raw.limits.maxTrackedSources,
      maxFailures: raw.limits.maxFailures,
      failWindow: ms(raw.limits.failWindow),
      banFor: ms(raw.limits.banFor),
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
    doors: raw.doors.map((door, index) => toDoor(door, secrets.get(index), Math.max(1, Math.floor(raw.limits.maxGrants / raw.doors.length)))),
  };
}
