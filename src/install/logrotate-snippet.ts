import { KnocktailError, describeValue } from '../model/errors.js';

// The shipped logrotate snippet (logrotate/knocktail) names the default log paths; install
// writes it with the configured knock log and audit log.
const DEFAULT_PATHS = '/var/log/knocktail/knocks.log\n/var/log/knocktail/audit.log\n';

function logrotatePath(path: string): string {
  if (/["\u0000-\u001f\u007f]/.test(path)) {
    throw new KnocktailError('CONFIG_INVALID', `Expected a log path logrotate can name, got ${describeValue(path)}`);
  }
  return /\s/.test(path) ? `"${path}"` : path;
}

/** The snippet rotating `logFile` and `auditLog`. */
export function renderLogrotateSnippet(template: string, options: { logFile: string; auditLog: string }): string {
  if (!template.includes(DEFAULT_PATHS)) {
    throw new KnocktailError(
      'NOT_FOUND',
      'Expected the shipped logrotate snippet to list the default log paths; the package is damaged',
    );
  }
  const paths = [...new Set([options.logFile, options.auditLog])].map(logrotatePath);
  return template.replace(DEFAULT_PATHS, () => `${paths.join('\n')}\n`);
}
