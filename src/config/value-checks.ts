import ipaddr from 'ipaddr.js';
import { normaliseAddress, normaliseKernelAddress, parseCidr, type Cidr } from '../model/address.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { didYouMean, suggestDuration } from './suggest-value.js';
import { liveWindows, MAX_LIVE_WINDOWS, MIN_PERIOD_MS } from '../knock/time-based.js';
import { describeValue } from '../model/errors.js';
import type { PathSegment } from './json-path.js';
import type { Problems } from './problems.js';
import { isRecord } from '../model/is-record.js';
import { arrayOf } from './raw-config.js';

// Semantic checks of single values the schema cannot express. They read the
// defaults-filled document defensively: a part of the wrong shape was already reported.
const MAX_DURATION_MS = 3650 * 86_400_000; // beyond this, `until` times stop being valid dates
const LIMIT_DURATIONS = [
  'failWindow',
  'banFor',
  'maxOpenFor',
  'retransmitWindow',
  'maxClockSkew',
  'scannerHold',
] as const;

function checkDuration(
  problems: Problems,
  path: PathSegment[],
  value: unknown,
  minimumMs = 1,
  minimumText = 'above 0',
): void {
  if (typeof value !== 'string' || problems.has(path) || value === 'until-closed') return;
  const ms = parseDuration(value);
  if (ms === undefined)
    problems.add(
      path,
      `expected a duration like "30s" (units ms, s, m, h, d), got ${describeValue(value)}${didYouMean(suggestDuration(value))}`,
    );
  else if (ms < minimumMs) problems.add(path, `expected a duration ${minimumText}, got ${describeValue(value)}`);
  else if (ms > MAX_DURATION_MS)
    problems.add(path, `expected a duration of at most 3650d, got ${describeValue(value)}`);
}

export type AllowedSource =
  { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly expected: string };

const EXPECTED_CIDR = 'an IPv4/IPv6 address or CIDR like "203.0.113.0/24" or "2001:db8::/32"';

/** A CIDR or bare address; IPv4 only as a dotted quad (ipaddr.js also takes "10" or "0x7f.1"). */
export function parseAllowedSource(text: string): AllowedSource {
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  const address = match ? normaliseAddress(match[1]!) : undefined;
  const cidr = parseCidr(text);
  if (!address || !cidr) return { ok: false, expected: EXPECTED_CIDR };
  // Packets from mapped addresses are seen as IPv4, so a mapped range would never match.
  if (address.family !== cidr.family) return { ok: false, expected: `${EXPECTED_CIDR}, IPv4 written as IPv4` };
  // Host bits set usually means a mistyped prefix length, which would widen or narrow the ACL.
  const [base, length] = cidr.range;
  const network =
    base.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(cidr.text)
      : ipaddr.IPv6.networkAddressFromCIDR(cidr.text);
  const networkText = network.kind() === 'ipv4' ? network.toString() : (network as ipaddr.IPv6).toRFC5952String();
  if (networkText !== cidr.text.split('/')[0])
    return { ok: false, expected: `a network address, e.g. "${networkText}/${length}"` };
  return { ok: true, cidr };
}

/** Host and port of metrics.listen; a bare port means loopback. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = match[1] === undefined || match[1] === '' ? '127.0.0.1' : match[1].replace(/^\[(.*)\]$/, '$1');
  if (host !== 'localhost' && normaliseAddress(host) === undefined) return undefined;
  return { host, port };
}

// Metrics tell an onlooker which doors exist and how busy they are; the metrics server
// refuses other hosts, so the config check does too, before the daemon starts.
function isLoopback(host: string): boolean {
  const address = normaliseAddress(host);
  return (
    host === 'localhost' ||
    (address !== undefined && (address.family === 4 ? address.text.startsWith('127.') : address.text === '::1'))
  );
}

function checkListen(problems: Problems, listen: unknown): void {
  const path = ['metrics', 'listen'];
  if (typeof listen !== 'string' || problems.has(path)) return;
  const parsed = parseListen(listen);
  if (parsed === undefined) {
    problems.add(
      path,
      `expected HOST:PORT with HOST an IP address or "localhost" and PORT 1-65535, got ${describeValue(listen)}`,
    );
  } else if (!isLoopback(parsed.host)) {
    problems.add(
      path,
      `expected a loopback host (127.0.0.1, [::1] or localhost; metrics reveal which doors exist), got ${describeValue(listen)}`,
    );
  }
}

// allowFrom and limits.alwaysAllow: each entry a network address with its prefix length.
function checkSources(problems: Problems, path: PathSegment[], list: unknown): void {
  arrayOf(list).forEach((entry, entryIndex) => {
    if (typeof entry !== 'string') return;
    const parsed = parseAllowedSource(entry);
    if (!parsed.ok) problems.add([...path, entryIndex], `expected ${parsed.expected}, got ${describeValue(entry)}`);
  });
}

function checkDoor(problems: Problems, door: Record<string, unknown>, index: number): void {
  const at = (...rest: PathSegment[]): PathSegment[] => ['doors', index, ...rest];
  checkDuration(problems, at('timeout'), door['timeout']);
  checkDuration(problems, at('openFor'), door['openFor']);
  const hasClose = arrayOf(door['closeSequence']).length > 0;
  if (door['openFor'] === 'until-closed' && !hasClose && !problems.has(at('openFor'))) {
    problems.add(at('openFor'), '"until-closed" needs a closeSequence, or the door would never close');
  }
  const timeBased = door['timeBased'];
  const hasAny =
    arrayOf(door['sequence']).length > 0 ||
    arrayOf(door['oneTimeSequences']).length > 0 ||
    isRecord(timeBased) ||
    isRecord(door['spa']);
  if (!hasAny) problems.add(at(), 'expected at least one of sequence, oneTimeSequences, timeBased or spa, got none');
  checkSources(problems, at('allowFrom'), door['allowFrom']);
  if (!isRecord(timeBased)) return;
  checkDuration(
    problems,
    at('timeBased', 'period'),
    timeBased['period'],
    MIN_PERIOD_MS,
    `of at least ${formatDuration(MIN_PERIOD_MS)}`,
  );
  // A present but malformed secret counts as given: the schema already said what is wrong with it.
  const secrets = [timeBased['secret'], timeBased['secretFile']].filter(
    (value) => value !== null && value !== undefined,
  ).length;
  if (secrets !== 1)
    problems.add(
      at('timeBased'),
      `expected exactly one of secret or secretFile, got ${secrets === 0 ? 'neither' : 'both'}`,
    );
  const range = timeBased['portRange'];
  if (
    !Array.isArray(range) ||
    typeof range[0] !== 'number' ||
    typeof range[1] !== 'number' ||
    problems.has(at('timeBased', 'portRange'))
  )
    return;
  // Consecutive derived knocks never repeat a port, so a multi-knock sequence needs two ports.
  const needed = typeof timeBased['length'] === 'number' && timeBased['length'] > 1 ? 2 : 1;
  if (range[1] - range[0] + 1 < needed) {
    const what = needed === 2 ? 'low < high (a sequence of several knocks needs at least 2 ports)' : 'low ≤ high';
    problems.add(at('timeBased', 'portRange'), `expected [low, high] with ${what}, got ${describeValue(range)}`);
    return;
  }
  checkTimeBasedCost(problems, door, timeBased, index, range[1] - range[0] + 1);
}

// period, timeout, length and portRange together: how many windows of derived knocks are live
// at once (the work and memory per door), and how much of the port range they cover.
function checkTimeBasedCost(
  problems: Problems,
  door: Record<string, unknown>,
  timeBased: Record<string, unknown>,
  index: number,
  ports: number,
): void {
  const at = (...rest: PathSegment[]): PathSegment[] => ['doors', index, ...rest];
  if (problems.has(at('timeout')) || problems.has(at('timeBased', 'period')) || typeof timeBased['length'] !== 'number')
    return;
  const timeout = typeof door['timeout'] === 'string' ? parseDuration(door['timeout']) : undefined;
  const period = typeof timeBased['period'] === 'string' ? parseDuration(timeBased['period']) : undefined;
  if (timeout === undefined || period === undefined) return;
  const windows = liveWindows(timeout, period);
  if (windows > MAX_LIVE_WINDOWS) {
    const longest = formatDuration((MAX_LIVE_WINDOWS - 2) * period);
    problems.add(
      at('timeout'),
      `expected at most ${longest} (${MAX_LIVE_WINDOWS - 2} × timeBased.period ${describeValue(timeBased['period'])}) for a time-based door, got ${describeValue(door['timeout'])}: ` +
        `an attempt may follow any of ${windows} windows of derived ports (at most ${MAX_LIVE_WINDOWS}); raise timeBased.period or lower timeout`,
    );
    return;
  }
  // Past half of the range, almost any scan of it completes a knock on this door.
  const live = windows * timeBased['length'];
  if (2 * live > ports) {
    problems.add(
      at('timeBased', 'portRange'),
      `expected at least ${2 * live} ports (twice the ${live} derived knocks live at once: ${windows} windows × length ${timeBased['length']}), got ${ports}; widen portRange or shorten length`,
    );
  }
}

export function checkValues(problems: Problems, data: unknown): void {
  if (!isRecord(data)) return;
  const limits = data['limits'];
  if (isRecord(limits)) {
    for (const key of LIMIT_DURATIONS) {
      if (key === 'maxOpenFor') checkDuration(problems, ['limits', key], limits[key], 1000, 'of at least 1s');
      // The guard logs a source's tripwire hits once a minute: a shorter hold would let a scan go unmarked between them.
      else if (key === 'scannerHold')
        checkDuration(
          problems,
          ['limits', key],
          limits[key],
          60_000,
          'of at least 1m (the guard logs tripwire hits once a minute per source)',
        );
      else checkDuration(problems, ['limits', key], limits[key]);
    }
    checkSources(problems, ['limits', 'alwaysAllow'], limits['alwaysAllow']);
  }
  const metrics = data['metrics'];
  if (isRecord(metrics)) checkListen(problems, metrics['listen']);
  arrayOf(data['localAddresses']).forEach((entry, index) => {
    if (typeof entry !== 'string' || problems.has(['localAddresses', index])) return;
    // Compared with the kernel's DST=, which is never IPv4-mapped and never has a zone id.
    const address = normaliseKernelAddress(entry);
    if (!address.ok)
      problems.add(
        ['localAddresses', index],
        `expected an IPv4 or IPv6 address of this host (no zone id, no IPv4-mapped form), got ${describeValue(entry)}`,
      );
  });
  arrayOf(data['doors']).forEach((door, index) => {
    if (isRecord(door)) checkDoor(problems, door, index);
  });
  checkDoorGrantLimits(problems, data);
}

// A door's own cap above the global one would promise grants the firewall sets cannot hold.
function checkDoorGrantLimits(problems: Problems, data: Record<string, unknown>): void {
  const limits = data['limits'];
  const global = isRecord(limits) && typeof limits['maxGrants'] === 'number' ? limits['maxGrants'] : undefined;
  if (global === undefined || problems.has(['limits', 'maxGrants'])) return;
  arrayOf(data['doors']).forEach((door, index) => {
    const own = isRecord(door) ? door['maxGrants'] : undefined;
    if (typeof own !== 'number' || problems.has(['doors', index, 'maxGrants']) || own <= global) return;
    problems.add(
      ['doors', index, 'maxGrants'],
      `expected at most limits.maxGrants (${global}), got ${describeValue(own)}`,
    );
  });
}
