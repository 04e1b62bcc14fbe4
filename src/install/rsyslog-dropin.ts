import { KnocktailError, describeValue } from '../model/errors.js';

// The shipped drop-in (rsyslog/30-knocktail.conf) names the default prefix and log file;
// install writes it with the configured ones.
const PREFIX_LITERAL = 'startswith "knocktail: "';
const FILE_LITERAL = 'file="/var/log/knocktail/knocks.log"';
const GROUP_LITERAL = 'fileGroup="knocktail" dirGroup="knocktail"';

/** `text` as a RainerScript double-quoted string literal (\, " and $ escaped). */
export function quoteRainerString(text: string): string {
  // A control character would end the statement or the line; the schema never lets one through.
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw new KnocktailError(
      'CONFIG_INVALID',
      `Expected printable text for the rsyslog drop-in, got ${describeValue(text)}`,
    );
  }
  return `"${text.replace(/[\\"$]/g, (char) => `\\${char}`)}"`;
}

/** The drop-in with `prefix` in its filter and `logFile` as its output, created with `group` (default knocktail, the daemon's own). */
export function renderRsyslogDropin(
  template: string,
  options: { prefix: string; logFile: string; group?: string },
): string {
  for (const literal of [PREFIX_LITERAL, FILE_LITERAL, GROUP_LITERAL]) {
    if (!template.includes(literal)) {
      throw new KnocktailError(
        'NOT_FOUND',
        `Expected the shipped rsyslog drop-in to contain ${literal}; the package is damaged`,
      );
    }
  }
  const group = quoteRainerString(options.group ?? 'knocktail');
  return template
    .replace(PREFIX_LITERAL, () => `startswith ${quoteRainerString(options.prefix)}`)
    .replace(FILE_LITERAL, () => `file=${quoteRainerString(options.logFile)}`)
    .replace(GROUP_LITERAL, () => `fileGroup=${group} dirGroup=${group}`);
}
