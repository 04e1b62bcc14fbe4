// The config `knocktail install` writes when there is none: the classic single-knock door
// (a SYN to tcp:31600 opens ssh for the knocking address until a SYN to tcp:31601).
// JSON has no comments; the `$schema` key points editors at the shipped schema instead.
export interface SkeletonPaths {
  readonly logFile: string;
  readonly logPrefix: string;
  readonly stateDir: string;
  readonly auditLog: string;
}

export const DEFAULT_PATHS: SkeletonPaths = {
  logFile: '/var/log/knocktail/knocks.log',
  logPrefix: 'knocktail: ',
  stateDir: '/var/lib/knocktail',
  auditLog: '/var/log/knocktail/audit.log',
};

/** The skeleton config text (pretty JSON, trailing newline). */
export function buildConfigSkeleton(schemaPath: string, paths: SkeletonPaths = DEFAULT_PATHS): string {
  const config = {
    $schema: schemaPath,
    ...paths,
    firewall: { backend: 'iptables' },
    doors: [
      {
        name: 'classic',
        sequence: ['tcp:31600'],
        open: ['tcp:22'],
        openFor: 'until-closed',
        closeSequence: ['tcp:31601'],
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
