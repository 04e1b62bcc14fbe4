import type { KnockPortChoice } from './knock-ports.js';

// The config `knocktail install` writes when there is none: door "ssh", a 3-knock sequence
// of random tcp ports (chosen per install, see knock-ports.ts) that opens ssh for the
// knocking address for an hour, and a one-knock close sequence.
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

export const SKELETON_DOOR = 'ssh';
export const SKELETON_OPEN = 'tcp:22';
export const SKELETON_OPEN_FOR = '1h';

/** The skeleton's knock steps, as the config and `knocktail knock` write them. */
export function skeletonSteps(knock: KnockPortChoice): { sequence: string[]; close: string[] } {
  return { sequence: knock.sequence.map((port) => `tcp:${port}`), close: [`tcp:${knock.close}`] };
}

/** The skeleton config text (pretty JSON, trailing newline); `nflog`: the NFLOG source (install picks it in a container). */
export function buildConfigSkeleton(
  schemaPath: string,
  knock: KnockPortChoice,
  paths: SkeletonPaths = DEFAULT_PATHS,
  nflog?: { readonly group: number },
): string {
  const steps = skeletonSteps(knock);
  const config = {
    $schema: schemaPath,
    ...(nflog ? { source: 'nflog', nflog: { group: nflog.group } } : {}),
    ...paths,
    firewall: { backend: 'iptables' },
    doors: [
      {
        name: SKELETON_DOOR,
        sequence: steps.sequence,
        open: [SKELETON_OPEN],
        openFor: SKELETON_OPEN_FOR,
        closeSequence: steps.close,
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
