import { formatStep, type Door } from '../model/door.js';
import { formatPath, type PathSegment } from './json-path.js';

// Doors a scan or a guess opens (pure, on the loaded doors, so a secret read from its file is
// judged too): refused are a time-based secret under MIN_SECRET_BITS and a time-based range
// whose sequences a scanner sweeping the range completes too often; single-knock doors only
// draw a warning, naming what tripwires do about them and what they do not.
export const MIN_SECRET_BITS = 128;
/** Fewest distinct derived sequences a time-based door may have (see sequenceSpaceBits). */
export const MIN_SEQUENCE_BITS = 32;

/**
 * A conservative estimate of a secret's strength from its length and alphabet: 4 bits a
 * byte for hex, 6 for base64 (either alphabet), 6.5 otherwise (about printable ASCII). The
 * secret is used as text (its UTF-8 bytes are the HMAC key), so `openssl rand -hex 32` gives 256.
 */
export function estimateSecretBits(secret: string): number {
  const length = Buffer.byteLength(secret, 'utf8');
  if (/^[0-9a-fA-F]*$/.test(secret)) return 4 * length;
  if (/^[A-Za-z0-9+/_=-]*$/.test(secret)) return 6 * length;
  return 6.5 * length;
}

/**
 * log2 of the number of sequences a time-based door can derive: `length` ports from a range of
 * n, never the same port twice in a row, so n × (n − 1)^(length − 1). A scanner that sweeps the
 * range in random order completes the current or previous window's sequence in about one sweep
 * out of 2^bits / (2n), so under MIN_SEQUENCE_BITS a patient scan gets in.
 */
export function sequenceSpaceBits(rangeSize: number, length: number): number {
  if (rangeSize < 2) return 0;
  return Math.log2(rangeSize) + (length - 1) * Math.log2(rangeSize - 1);
}

export interface DoorStrength {
  /** "path: message" lines that refuse the config. */
  readonly problems: string[];
  /** "path: message" lines check-config prints as warnings. */
  readonly warnings: string[];
}

export function checkDoorStrength(doors: readonly Door[]): DoorStrength {
  const problems: string[] = [];
  const warnings: string[] = [];
  doors.forEach((door, index) => {
    const at = (...path: PathSegment[]): string => formatPath(['doors', index, ...path]);
    const timed = door.timeBased;
    if (timed) {
      const bits = Math.floor(estimateSecretBits(timed.secret));
      if (bits < MIN_SECRET_BITS) {
        problems.push(
          `${at('timeBased', 'secret')}: expected a secret of at least ${MIN_SECRET_BITS} bits (e.g. 32 hex characters from \`openssl rand -hex 32\`), got about ${bits} bits (${plural(Buffer.byteLength(timed.secret, 'utf8'), 'byte')}): anyone who guesses it derives every sequence`,
        );
      }
      const size = timed.portRange[1] - timed.portRange[0] + 1;
      const space = sequenceSpaceBits(size, timed.length);
      if (space < MIN_SEQUENCE_BITS) {
        problems.push(
          `${at('timeBased', 'portRange')}: expected portRange and length to give at least 2^${MIN_SEQUENCE_BITS} sequences, got about 2^${space.toFixed(1)} (${plural(timed.length, 'knock')} in ${size} ports): a scan that sweeps the range in random order completes one about every ${sweepsText(space, size)}; widen the range or add knocks`,
        );
      }
    }
    // (A time-based door of one knock is refused above: no port range is 2^32 ports.)
    const single = (steps: Door['sequence'], path: PathSegment[]): void => {
      if (steps.length !== 1) return;
      warnings.push(
        `${at(...path)}: a single knock (${formatStep(steps[0]!)}): any port scan that touches it opens the door. Tripwire ports stop a scanner that also hits them (it completes no door for limits.scannerHold, and a grant it got just before is revoked), not one that probes this one port; use three or more knocks, a time-based sequence, or an SPA door`,
      );
    };
    single(door.sequence, ['sequence']);
    door.oneTimeSequences.forEach((steps, k) => single(steps, ['oneTimeSequences', k]));
  });
  return { problems, warnings };
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function sweepsText(bits: number, size: number): string {
  const sweeps = Math.max(1, Math.round(2 ** bits / (2 * size)));
  return sweeps === 1 ? 'sweep' : `${sweeps.toLocaleString('en-US')} sweeps`;
}
