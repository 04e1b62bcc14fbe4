import { basename } from 'node:path';
import { formatPath } from './json-path.js';
import type { Config } from './types.js';

// What `check-config` says about the files a valid config names: key files that others can
// read or the daemon cannot, and a knock log that any local program can write to.

/** The account the daemon runs as (systemd's User=), when it exists on this host. */
export interface ServiceUser {
  readonly name: string;
  readonly uid: number;
}

/** Owner and permission bits of a file, or undefined when it cannot be looked at. */
export type FileOwnerOf = (path: string) => { readonly uid: number; readonly mode: number } | undefined;

/** The service user's line of an /etc/passwd text, if any. */
export function serviceUserIn(passwd: string, name = 'knocktail'): ServiceUser | undefined {
  for (const line of passwd.split('\n')) {
    const [user, , uid] = line.split(':');
    if (user === name && uid !== undefined && /^\d+$/.test(uid)) return { name, uid: Number(uid) };
  }
  return undefined;
}

/** The secrets a config reads from files, each with its JSON path. */
export function keyFilesOf(config: Config): { readonly path: string; readonly file: string }[] {
  const doors = config.doors.flatMap((door, index) => [
    ...(door.timeBased?.secretFile === undefined
      ? []
      : [{ path: formatPath(['doors', index, 'timeBased', 'secretFile']), file: door.timeBased.secretFile }]),
    ...(door.spa === undefined
      ? []
      : [
          { path: formatPath(['doors', index, 'spa', 'keyFile']), file: door.spa.keyFile },
          { path: formatPath(['doors', index, 'spa', 'hmacKeyFile']), file: door.spa.hmacKeyFile },
        ]),
  ]);
  const fleet = config.fleet;
  if (!fleet) return doors;
  return [
    ...doors,
    { path: 'fleet.keyFile', file: fleet.keyFile },
    ...(fleet.auth.kind === 'credentials' ? [{ path: 'fleet.credentials', file: fleet.auth.file }] : []),
    ...(fleet.tls?.key === undefined ? [] : [{ path: 'fleet.tls.key', file: fleet.tls.key }]),
  ];
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/**
 * A key must be readable by the service user and nobody else: owned by it, mode 0600 (or 0400).
 * A key others can read leaks the group's secret; one owned by root with 0600 stops the daemon.
 */
export function checkKeyFiles(
  files: readonly { readonly path: string; readonly file: string }[],
  ownerOf: FileOwnerOf,
  service: ServiceUser | undefined,
): string[] {
  const warnings: string[] = [];
  for (const { path, file } of files) {
    const seen = ownerOf(file);
    if (!seen) continue; // unreadable or missing: the loader already said so
    const open = (seen.mode & 0o077) !== 0;
    const foreign = service !== undefined && seen.uid !== service.uid;
    if (!open && !foreign) continue;
    const owner = service?.name ?? 'the user the daemon runs as';
    const readers = [
      (seen.mode & 0o070) !== 0 ? 'its group' : undefined,
      (seen.mode & 0o007) !== 0 ? 'everyone' : undefined,
    ]
      .filter((who) => who !== undefined)
      .join(' and ');
    const problem = [
      ...(open ? [`is open to ${readers} (mode ${octal(seen.mode)})`] : []),
      ...(foreign
        ? [`is owned by uid ${String(seen.uid)}, not by ${owner} (uid ${String(service.uid)}) whom the daemon runs as`]
        : []),
    ].join(' and ');
    const fix = service
      ? `chown ${service.name}:${service.name} ${file} && chmod 600 ${file}`
      : `chmod 600 ${file}, owned by ${owner}`;
    warnings.push(`${path}: ${file} ${problem}; a key must be readable by ${owner} and nobody else: ${fix}`);
  }
  return warnings;
}

/** System logs that other programs write: any local user can put a kernel-looking line there through /dev/log. */
const GENERAL_LOGS = new Set(['kern.log', 'syslog', 'messages', 'daemon.log', 'user.log', 'debug', 'auth.log']);

/** A warning when `logFile` is a general syslog file instead of the knock log the drop-in writes. */
export function checkLogFile(config: Config): string[] {
  if (config.source === 'kmsg') return [];
  const name = basename(config.logFile).replace(/\.\d+$/, '');
  if (!GENERAL_LOGS.has(name)) return [];
  // The nflog source trusts every line of logFile (it names no sender): ulogd must be its only writer.
  if (config.source === 'nflog') {
    return [
      `logFile: ${config.logFile} is a general syslog file that other programs write to, but with "source": "nflog" every line of logFile counts as knocktail's ulogd2's (its lines name no sender); ` +
        "give knocktail's ulogd2 a file of its own (/var/log/knocktail/knocks.log; docs/nflog.md, the trust rule)",
    ];
  }
  return [
    `logFile: ${config.logFile} is a general syslog file that other programs write to: any local user can add a kernel-looking knock line through /dev/log (logger), and rsyslog may file it there; ` +
      'use the knock log the rsyslog drop-in writes from kernel lines only (/var/log/knocktail/knocks.log), or "source": "kmsg"',
  ];
}
