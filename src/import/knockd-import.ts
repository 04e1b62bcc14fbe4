import { parseAcceptCommand, sameAccept, type AcceptRule } from './iptables-accept.js';
import {
  parseKnockdSequence,
  parseOneTimeSequences,
  type KnockdConfig,
  type KnockdDirective,
  type KnockdSection,
} from './knockd-config.js';
import { doorName } from './door-name.js';

// knockd.conf → knocktail config. Pure: the one_time_sequences files are read by the
// caller and handed in. What cannot be carried over is reported, never guessed wider:
// a door whose command is not a plain iptables ACCEPT is left out, since knocktail would
// otherwise open a port the knockd door never opened.
export type OneTimeFile =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

export interface ImportNote {
  /** "[openSSH] line 4" or "[options]". */
  readonly where: string;
  /** skipped: a door (or its IPv6 half) left out; changed: converted with a difference; kept: a limit carried over as it was; ignored: a directive without effect. */
  readonly kind: 'skipped' | 'changed' | 'kept' | 'ignored';
  readonly message: string;
}

export interface ImportedDoor {
  name: string;
  sequence?: string[];
  oneTimeSequences?: string[][];
  timeout?: string;
  open: string[];
  openFor?: string;
  closeSequence?: string[];
  allowFrom?: string[];
}

export interface KnockdImport {
  readonly config: { doors: ImportedDoor[] };
  readonly notes: readonly ImportNote[];
}

// knockd's defaults: seq_timeout 25 s (the same as knocktail's), cmd_timeout 10 s.
const KNOCKD_CMD_TIMEOUT_S = 10;
const DOOR_KEYS = new Set([
  'sequence',
  'one_time_sequences',
  'seq_timeout',
  'tcpflags',
  'start_command',
  'command',
  'start_command_6',
  'command_6',
  'stop_command',
  'stop_command_6',
  'cmd_timeout',
  'target',
]);

/** The one_time_sequences files a config names, for the caller to read. */
export function oneTimeFilesOf(config: KnockdConfig): string[] {
  return config.doors.flatMap((door) => door.directives.get('one_time_sequences')?.value ?? []);
}

interface Candidate {
  readonly section: KnockdSection;
  readonly rule: AcceptRule;
  readonly door: ImportedDoor;
  readonly hasStop: boolean;
}

class Notes {
  readonly list: ImportNote[] = [];
  add(section: KnockdSection, at: KnockdDirective | undefined, kind: ImportNote['kind'], message: string): void {
    const line = at?.line ?? section.line;
    this.list.push({ where: `[${section.name}] line ${line}`, kind, message });
  }
}

function seconds(text: string): number | undefined {
  return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
}

function get(section: KnockdSection, ...keys: string[]): KnockdDirective | undefined {
  for (const key of keys) {
    const found = section.directives.get(key);
    if (found) return found;
  }
  return undefined;
}

function convertOptions(section: KnockdSection, notes: Notes): void {
  const where = (d: KnockdDirective): ImportNote['where'] => `[options] line ${d.line}`;
  for (const flag of section.flags) {
    const message =
      flag.key === 'usesyslog'
        ? 'UseSyslog: knocktail logs to the journal and writes its own audit trail (`auditLog`)'
        : `${flag.key}: not a knockd option knocktail knows`;
    notes.list.push({ where: where(flag), kind: 'ignored', message });
  }
  for (const d of section.directives.values()) {
    const message =
      d.key === 'logfile'
        ? `logfile = ${d.value}: knocktail's audit trail goes to \`auditLog\` (default /var/log/knocktail/audit.log); the knockd log is not carried over`
        : d.key === 'interface'
          ? `interface = ${d.value}: knocktail reads knocks from the kernel log for every interface; to limit who may knock, set a door's \`allowFrom\``
          : d.key === 'pidfile'
            ? `pidfile = ${d.value}: knocktail runs under systemd and needs no pid file`
            : `${d.key} = ${d.value}: not a knockd option knocktail knows`;
    notes.list.push({ where: where(d), kind: 'ignored', message });
  }
}

function sequenceOf(
  section: KnockdSection,
  files: ReadonlyMap<string, OneTimeFile>,
  notes: Notes,
): Pick<ImportedDoor, 'sequence' | 'oneTimeSequences'> | undefined {
  const oneTime = section.directives.get('one_time_sequences');
  const fixed = section.directives.get('sequence');
  if (oneTime) {
    if (fixed)
      notes.add(
        section,
        fixed,
        'changed',
        'both sequence and one_time_sequences: knockd uses the one-time file, and so does the converted door',
      );
    const file = files.get(oneTime.value);
    if (!file || !file.ok) {
      notes.add(
        section,
        oneTime,
        'skipped',
        `cannot read one_time_sequences ${oneTime.value}: ${file ? file.reason : 'not read'}`,
      );
      return undefined;
    }
    const parsed = parseOneTimeSequences(file.text);
    for (const problem of parsed.problems)
      notes.add(section, oneTime, 'changed', `${oneTime.value} line ${problem.line} left out: ${problem.message}`);
    if (parsed.sequences.length === 0) {
      notes.add(section, oneTime, 'skipped', `${oneTime.value} holds no unused sequence (used ones start with #)`);
      return undefined;
    }
    return { oneTimeSequences: parsed.sequences };
  }
  if (!fixed) {
    notes.add(section, undefined, 'skipped', 'no sequence and no one_time_sequences');
    return undefined;
  }
  const parsed = parseKnockdSequence(fixed.value);
  if (!parsed.ok) {
    notes.add(section, fixed, 'skipped', `sequence: ${parsed.reason}`);
    return undefined;
  }
  return { sequence: parsed.steps };
}

function checkTcpFlags(section: KnockdSection, notes: Notes): void {
  const flags = section.directives.get('tcpflags');
  if (!flags) return;
  const list = flags.value
    .toLowerCase()
    .split(',')
    .map((flag) => flag.trim());
  if (list.length === 1 && list[0] === 'syn') return;
  notes.add(
    section,
    flags,
    'changed',
    `tcpflags = ${flags.value}: knocktail's TCP knocks are the SYNs of new connections, whatever else is set; clients must send plain SYNs (\`knocktail knock\` and knockd's \`knock\` do)`,
  );
}

function openPorts(section: KnockdSection, at: KnockdDirective, rule: AcceptRule, notes: Notes): string[] | undefined {
  if (rule.tool === 'ufw' && !rule.proto) return rule.ports.flatMap((port) => [`tcp:${port}`, `udp:${port}`]);
  let proto = rule.proto;
  if (!proto) {
    proto = 'tcp';
    notes.add(section, at, 'changed', 'the command has no `-p` (iptables refuses --dport without it); taken as tcp');
  }
  if (rule.ports.length > 0) return rule.ports.map((port) => `${proto}:${port}`);
  if (proto === 'udp') {
    notes.add(
      section,
      at,
      'skipped',
      'the command accepts every udp port from the knocker; knocktail opens named ports only',
    );
    return undefined;
  }
  notes.add(
    section,
    at,
    'changed',
    'the command accepts every tcp port from the knocker (no --dport); knocktail opens named ports only: narrowed to tcp:22, edit `open` if the door served another port',
  );
  return ['tcp:22'];
}

const ALL = { ipv4: '0.0.0.0/0', ipv6: '::/0' } as const;

// knockd runs start_command_6 for IPv6 knockers when the door has one, else start_command;
// iptables takes IPv4 addresses only and ip6tables IPv6 only, so the commands decide which
// families the knockd door really opened for. The converted door opens for no more.
function familyOf(section: KnockdSection, start: AcceptRule, notes: Notes): 'ipv4' | 'ipv6' | undefined {
  const start6 = get(section, 'start_command_6', 'command_6');
  const ipv4 = start.tool !== 'ip6tables';
  let ipv6 = start.tool !== 'iptables';
  if (start6 !== undefined && start6.value === '') ipv6 = false;
  else if (start6 !== undefined) {
    const parsed = parseAcceptCommand(start6.value);
    ipv6 = parsed.ok && parsed.rule.tool !== 'iptables' && sameAccept({ ...parsed.rule, tool: start.tool }, start);
    if (!ipv6)
      notes.add(
        section,
        start6,
        'skipped',
        'start_command_6 does not open the same ports as start_command: its IPv6 door is not converted (a knocktail door opens the same ports for both families)',
      );
  }
  if (ipv4 && ipv6) return undefined;
  const family = ipv4 ? 'ipv4' : 'ipv6';
  const why = ipv4
    ? start6?.value === ''
      ? 'start_command_6 is empty'
      : 'iptables takes IPv4 knockers only'
    : 'ip6tables takes IPv6 knockers only';
  notes.add(
    section,
    start6 ?? get(section, 'start_command', 'command'),
    'kept',
    `${why}: the door stays ${ipv4 ? 'IPv4' : 'IPv6'} only (\`allowFrom: ["${ALL[family]}"]\`); drop allowFrom to let ${ipv4 ? 'IPv6' : 'IPv4'} knockers in too`,
  );
  return family;
}

function convertSection(
  section: KnockdSection,
  files: ReadonlyMap<string, OneTimeFile>,
  notes: Notes,
): Candidate | undefined {
  for (const d of section.directives.values())
    if (!DOOR_KEYS.has(d.key)) notes.add(section, d, 'ignored', `${d.key}: not a knockd door directive`);
  for (const flag of section.flags) notes.add(section, flag, 'ignored', 'a line without "=" (not a knockd directive)');
  const target = section.directives.get('target');
  if (target) {
    notes.add(
      section,
      target,
      'skipped',
      `target = ${target.value}: knocktail counts knocks to this host's own addresses only`,
    );
    return undefined;
  }
  const start = get(section, 'start_command', 'command');
  if (!start || start.value === '') {
    notes.add(section, start, 'skipped', 'no start_command (or command)');
    return undefined;
  }
  const parsed = parseAcceptCommand(start.value);
  if (!parsed.ok) {
    notes.add(
      section,
      start,
      'skipped',
      `custom command \`${start.value}\` is not a plain iptables ACCEPT or ufw allow for %IP% (${parsed.reason}); knocktail opens ports itself and runs no commands`,
    );
    return undefined;
  }
  const knocks = sequenceOf(section, files, notes);
  if (!knocks) return undefined;
  checkTcpFlags(section, notes);
  const door: ImportedDoor = { name: '', ...knocks, open: [] };
  const timeout = section.directives.get('seq_timeout');
  if (timeout) {
    const s = seconds(timeout.value);
    if (s === undefined)
      notes.add(
        section,
        timeout,
        'changed',
        `seq_timeout = ${timeout.value} is not a whole number of seconds; knocktail's default 25s is used`,
      );
    else door.timeout = `${s}s`;
  }
  const stop = get(section, 'stop_command');
  if (parsed.rule.action === 'add') {
    const open = openPorts(section, start, parsed.rule, notes);
    if (!open) return undefined;
    door.open = open;
    const family = familyOf(section, parsed.rule, notes);
    if (family) door.allowFrom = [ALL[family]];
    if (stop) {
      const stopRule = parseAcceptCommand(stop.value);
      if (!stopRule.ok || stopRule.rule.action !== 'delete' || !sameAccept(stopRule.rule, parsed.rule)) {
        notes.add(
          section,
          stop,
          'changed',
          'stop_command does not delete the rule start_command added; knocktail closes the grant itself when openFor ends',
        );
      }
      const cmdTimeout = section.directives.get('cmd_timeout');
      const s = cmdTimeout ? seconds(cmdTimeout.value) : KNOCKD_CMD_TIMEOUT_S;
      if (s === undefined)
        notes.add(
          section,
          cmdTimeout,
          'changed',
          `cmd_timeout = ${cmdTimeout?.value ?? ''} is not a whole number of seconds; knockd's default 10s is used`,
        );
      door.openFor = `${s ?? KNOCKD_CMD_TIMEOUT_S}s`;
    }
  }
  return { section, rule: parsed.rule, door, hasStop: stop !== undefined };
}

// A door whose command deletes another door's rule is that door's close sequence.
function pairCloseDoors(candidates: readonly Candidate[], notes: Notes): ImportedDoor[] {
  const opens = candidates.filter((c) => c.rule.action === 'add');
  for (const close of candidates.filter((c) => c.rule.action === 'delete')) {
    const start = get(close.section, 'start_command', 'command');
    const match = opens.find((open) => sameAccept(open.rule, close.rule) && open.door.closeSequence === undefined);
    if (!match) {
      notes.add(close.section, start, 'skipped', 'its command deletes a rule that no converted door adds');
    } else if (!close.door.sequence) {
      notes.add(
        close.section,
        start,
        'skipped',
        `it would close [${match.section.name}], but a closeSequence is one fixed sequence, not one-time sequences`,
      );
    } else {
      match.door.closeSequence = close.door.sequence;
      if (!match.hasStop) match.door.openFor = 'until-closed';
      notes.add(
        close.section,
        start,
        'changed',
        `became the closeSequence of door "${match.door.name}" (from [${match.section.name}])`,
      );
    }
  }
  for (const open of opens) {
    if (open.door.openFor === undefined) {
      notes.add(
        open.section,
        get(open.section, 'start_command', 'command'),
        'changed',
        'knockd never closed this rule (no stop_command, no close door); knocktail grants always end: openFor is the default 1h',
      );
    }
  }
  return opens.map((open) => open.door);
}

export function importKnockdConfig(config: KnockdConfig, oneTimeFiles: ReadonlyMap<string, OneTimeFile>): KnockdImport {
  const notes = new Notes();
  for (const problem of config.problems)
    notes.list.push({ where: `line ${problem.line}`, kind: 'ignored', message: problem.message });
  if (config.options) convertOptions(config.options, notes);
  const candidates = config.doors.flatMap((section) => convertSection(section, oneTimeFiles, notes) ?? []);
  // Only opening sections become doors, so only they take names ("openSSH" → "ssh").
  const taken = new Set<string>();
  for (const candidate of candidates)
    if (candidate.rule.action === 'add') candidate.door.name = doorName(candidate.section.name, taken);
  return { config: { doors: pairCloseDoors(candidates, notes) }, notes: notes.list };
}
