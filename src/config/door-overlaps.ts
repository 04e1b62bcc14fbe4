import { formatPort, formatStep, type PortSpec, type Step } from '../model/door.js';
import { formatPath, type PathSegment } from './json-path.js';
import type { Problems } from './problems.js';
import { isRecord } from '../model/is-record.js';
import { arrayOf } from './raw-config.js';
import { parsePortSpec, parseStep, sameStep } from './steps.js';

// Checks across doors: unique names, knock ports that stay closed, and first knocks
// that say which door (and whether open or close) a source has started.
interface Located<T> {
  readonly door: number;
  readonly name: string;
  readonly path: PathSegment[];
  readonly value: T;
}

interface Start extends Located<Step> {
  readonly kind: 'open' | 'close';
}

function doorName(door: Record<string, unknown>, index: number): string {
  return typeof door['name'] === 'string' ? door['name'] : `#${index}`;
}

function located<T>(door: number, name: string, path: PathSegment[], value: T | undefined): Located<T>[] {
  return value === undefined ? [] : [{ door, name, path, value }];
}

function sequencesOf(
  door: Record<string, unknown>,
): { path: PathSegment[]; kind: 'open' | 'close'; steps: readonly unknown[] }[] {
  return [
    { path: ['sequence'], kind: 'open' as const, steps: arrayOf(door['sequence']) },
    ...arrayOf(door['oneTimeSequences']).map((steps, index) => ({
      path: ['oneTimeSequences', index],
      kind: 'open' as const,
      steps: arrayOf(steps),
    })),
    { path: ['closeSequence'], kind: 'close' as const, steps: arrayOf(door['closeSequence']) },
  ];
}

function checkNames(problems: Problems, doors: readonly Record<string, unknown>[]): void {
  const firstByName = new Map<string, number>();
  doors.forEach((door, index) => {
    const name = door['name'];
    if (typeof name !== 'string') return;
    const first = firstByName.get(name);
    if (first === undefined) firstByName.set(name, index);
    else
      problems.add(
        ['doors', index, 'name'],
        `duplicate door name "${name}" (doors[${first}] has it too); names must be unique`,
      );
  });
}

function checkKnockPorts(problems: Problems, doors: readonly Record<string, unknown>[]): void {
  const opened: Located<PortSpec>[] = doors.flatMap((door, index) =>
    arrayOf(door['open']).flatMap((text, portIndex) =>
      located(index, doorName(door, index), ['doors', index, 'open', portIndex], parsePortSpec(text)),
    ),
  );
  const openedBy = (proto: string, inRange: (port: number) => boolean): Located<PortSpec> | undefined =>
    opened.find((entry) => entry.value.proto === proto && inRange(entry.value.port));
  const conflict = (entry: Located<PortSpec>): string =>
    `opened by door "${entry.name}" (${formatPath(entry.path)}); a knock port must stay closed`;
  doors.forEach((door, index) => {
    for (const sequence of sequencesOf(door)) {
      sequence.steps.forEach((text, stepIndex) => {
        const step = parseStep(text);
        if (step?.port === undefined) return;
        const hit = openedBy(step.proto, (port) => port === step.port);
        if (hit) problems.add(['doors', index, ...sequence.path, stepIndex], `${formatStep(step)} is ${conflict(hit)}`);
      });
    }
    const timeBased = door['timeBased'];
    if (!isRecord(timeBased)) return;
    const range = arrayOf(timeBased['portRange']);
    const [low, high] = [range[0], range[1]];
    if (typeof low !== 'number' || typeof high !== 'number' || typeof timeBased['proto'] !== 'string') return;
    const hit = openedBy(timeBased['proto'], (port) => port >= low && port <= high);
    if (hit)
      problems.add(
        ['doors', index, 'timeBased', 'portRange'],
        `${low}-${high} includes ${formatPort(hit.value)}, ${conflict(hit)}`,
      );
  });
}

function conflictReason(a: Start, b: Start): string | undefined {
  if (a.kind === 'open' && b.kind === 'open')
    return a.door === b.door ? undefined : 'each door must start with its own first knock';
  if (a.kind === 'close' && b.kind === 'close') return undefined;
  return 'a close sequence must not start like an open sequence';
}

function checkFirstSteps(problems: Problems, doors: readonly Record<string, unknown>[]): void {
  const starts: Start[] = doors.flatMap((door, index) =>
    sequencesOf(door).flatMap((sequence) =>
      located(index, doorName(door, index), ['doors', index, ...sequence.path], parseStep(sequence.steps[0])).map(
        (entry) => ({ ...entry, kind: sequence.kind }),
      ),
    ),
  );
  starts.forEach((later, laterIndex) => {
    for (const earlier of starts.slice(0, laterIndex)) {
      const reason = sameStep(earlier.value, later.value) ? conflictReason(earlier, later) : undefined;
      if (reason === undefined) continue;
      problems.add(
        [...later.path, 0],
        `${formatStep(later.value)} also starts ${formatPath(earlier.path)} (door "${earlier.name}"); ${reason}`,
      );
      return;
    }
  });
}

export function checkDoorOverlaps(problems: Problems, data: unknown): void {
  if (!isRecord(data)) return;
  // Keep indices aligned with the file: a malformed door becomes an empty one here.
  const doors = arrayOf(data['doors']).map((door) => (isRecord(door) ? door : {}));
  checkNames(problems, doors);
  checkKnockPorts(problems, doors);
  checkFirstSteps(problems, doors);
}
