import type { ArgumentSpec, CommandSpec, OptionSpec, ProgramSpec } from './cli-spec.js';
import { roffRequest, roffText, sentence } from './roff.js';

// knocktail(8): the commands, their arguments and options as commander parses them (from
// cli-spec), framed by the sections an admin looks for (exit status, environment, files).
export interface ManPageMeta {
  /** "2026-12-01": the page's date (the build's SOURCE_DATE_EPOCH, for reproducible packages). */
  readonly date: string;
}

function optionSynopsis(option: OptionSpec): string {
  const name = option.short ?? option.long ?? option.flags;
  const text = `\\fB${roffText(name)}\\fR${option.value ? ` \\fI${roffText(option.value)}\\fR` : ''}`;
  return option.mandatory ? text : `[${text}]`;
}

function argumentSynopsis(argument: ArgumentSpec): string {
  const text = `\\fI${roffText(argument.name)}\\fR${argument.variadic ? '...' : ''}`;
  return argument.required ? text : `[${text}]`;
}

function commandSynopsis(program: ProgramSpec, command: CommandSpec): string {
  const options = command.options.filter((option) => option.long !== '--help');
  return [
    `\\fB${program.name} ${roffText(command.name)}\\fR`,
    ...options.map(optionSynopsis),
    ...command.arguments.map(argumentSynopsis),
  ].join(' ');
}

function optionItem(option: OptionSpec): string[] {
  const names = [option.short, option.long]
    .filter((name): name is string => name !== undefined)
    .map((name) => `\\fB${roffText(name)}\\fR`);
  const value = option.value ? ` \\fI${roffText(option.value)}\\fR` : '';
  const choices = option.choices
    ? ` One of: ${option.choices.map((choice) => `\\fB${roffText(choice)}\\fR`).join(', ')}.`
    : '';
  const required = option.mandatory ? ' Required.' : '';
  return ['.TP', `${names.join(', ')}${value}`, `${roffText(sentence(option.description))}${choices}${required}`];
}

function argumentItem(argument: ArgumentSpec): string[] {
  const choices = argument.choices
    ? ` One of: ${argument.choices.map((choice) => `\\fB${roffText(choice)}\\fR`).join(', ')}.`
    : '';
  return ['.TP', `\\fI${roffText(argument.name)}\\fR`, `${roffText(sentence(argument.description))}${choices}`];
}

function commandSection(program: ProgramSpec, command: CommandSpec): string[] {
  return [
    roffRequest('SS', command.name),
    commandSynopsis(program, command),
    '.PP',
    roffText(sentence(command.description)),
    ...command.arguments.flatMap(argumentItem),
    ...command.options.flatMap(optionItem),
  ];
}

const PROSE_DESCRIPTION = [
  'knocktail hides service ports (ssh by default) from everyone and opens them, for one source address and for a while, to whoever knocks the right sequence of TCP, UDP or ICMP packets to closed ports.',
  'The kernel logs the knocks (iptables LOG rules that knocktail installs), rsyslog writes them to a file, and the daemon follows that file, runs a state machine per source and door, and opens the door through iptables, ip6tables, ipset or nftables.',
  'Every grant carries its own expiry in the kernel, and every open and close is written to a JSON-lines audit log.',
  '.PP',
  '.B replay',
  'runs the same pipeline over recorded logs with a dry-run firewall, so a config can be proved before it goes live.',
  'The configuration is described in',
  '.BR knocktail.json (5);',
  'the client profiles of',
  '.B knocktail knock',
  'in',
  '.BR knocktail-client.json (5).',
];

const TAIL = [
  '.SH "EXIT STATUS"',
  '.TP',
  '.B 0',
  'Success.',
  '.TP',
  '.B 1',
  'A runtime failure: a firewall command failed, a file could not be written, a knock was not answered (\\fBknock \\-\\-verify\\fR).',
  '.TP',
  '.B 2',
  'A usage or configuration error; the message names what is wrong and what was expected.',
  '.SH ENVIRONMENT',
  '.TP',
  '.B KNOCKTAIL_CONFIG',
  'The config file when \\fB\\-c\\fR is not given (default \\fI/etc/knocktail/config.json\\fR).',
  '.TP',
  '.B XDG_CONFIG_HOME',
  'Where \\fBknock\\fR looks for \\fIknocktail/client.json\\fR (default \\fI~/.config\\fR).',
  '.TP',
  '.B NO_COLOR',
  'When set, output is never coloured.',
  '.SH FILES',
  '.TP',
  '.I /etc/knocktail/config.json',
  'The configuration, see \\fBknocktail.json\\fR(5).',
  '.TP',
  '.I /var/log/knocktail/knocks.log',
  'The kernel LOG lines of knock packets, written by rsyslog (\\fI/etc/rsyslog.d/30\\-knocktail.conf\\fR).',
  '.TP',
  '.I /var/log/knocktail/audit.log',
  'The audit trail, one JSON object per line.',
  '.TP',
  '.I /var/lib/knocktail',
  'Open grants, the log position and used one-time sequences.',
  '.TP',
  '.I ~/.config/knocktail/client.json',
  'Client profiles for \\fBknocktail knock\\fR \\fIname\\fR, see \\fBknocktail\\-client.json\\fR(5).',
  '.SH EXAMPLES',
  'Check a config, print the rules it needs, and prove it on a recorded log:',
  '.PP',
  '.nf',
  '.RS',
  'knocktail check\\-config \\-c /etc/knocktail/config.json',
  'knocktail rules',
  'knocktail replay /var/log/knocktail/knocks.log',
  '.RE',
  '.fi',
  '.PP',
  'Knock from a client, knockd style or with a profile, and check that ssh answers:',
  '.PP',
  '.nf',
  '.RS',
  'knocktail knock server.example.org 7000 8000:udp 9000 \\-\\-verify 22',
  'knocktail knock work',
  '.RE',
  '.fi',
  '.PP',
  'Convert a knockd configuration:',
  '.PP',
  '.nf',
  '.RS',
  'knocktail import knockd /etc/knockd.conf \\-o /etc/knocktail/config.json',
  '.RE',
  '.fi',
  '.SH "SEE ALSO"',
  '.BR knocktail.json (5),',
  '.BR knocktail\\-client.json (5),',
  '.BR iptables (8),',
  '.BR nft (8),',
  '.BR ipset (8),',
  '.BR rsyslogd (8),',
  '.BR knockd (1)',
];

export function renderCliManPage(program: ProgramSpec, meta: ManPageMeta): string {
  const lines = [
    `.\\" Generated from knocktail's command definitions by \`npm run build\`; do not edit.`,
    roffRequest(
      'TH',
      program.name.toUpperCase(),
      '8',
      meta.date,
      `${program.name} ${program.version}`,
      'System Administration',
    ),
    '.nh',
    '.SH NAME',
    `${program.name} \\- ${roffText(program.description.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase()))}`,
    '.SH SYNOPSIS',
    `\\fB${program.name}\\fR \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]`,
    '.br',
    `\\fB${program.name}\\fR ${program.options.map(optionSynopsis).join(' ')}`,
    '.SH DESCRIPTION',
    ...PROSE_DESCRIPTION,
    '.SH COMMANDS',
    'Every command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.',
    ...program.commands.flatMap((command) => commandSection(program, command)),
    ...TAIL,
  ];
  return `${lines.join('\n')}\n`;
}
