import { parseStep } from '../config/steps.js';
import { KnocktailError, describeValue } from '../errors.js';
import type { Door, Step } from '../model/door.js';
import { deriveSequence, windowAt } from '../knock/time-based.js';

// Which packets `knocktail knock` sends: the steps on the command line, or a door's
// sequence from the config (for a time-based door, the one for the current window).
export interface StepChoice {
  readonly stepTexts: readonly string[];
  readonly door?: Door;
  /** Send the door's close sequence instead of its open sequence. */
  readonly close?: boolean;
  /** Epoch ms, for time-based doors. */
  readonly now: number;
}

export function chooseKnockSteps(choice: StepChoice): Step[] {
  const { door, stepTexts } = choice;
  if (door && stepTexts.length > 0) {
    throw new KnocktailError('USAGE', `Expected either steps or --door, got both (--door ${door.name} and ${stepTexts.join(' ')})`);
  }
  if (choice.close && !door) throw new KnocktailError('USAGE', 'Expected --door NAME with --close, got no door');
  if (door && choice.close) {
    if (door.closeSequence.length > 0) return [...door.closeSequence];
    throw new KnocktailError('USAGE', `Door "${door.name}" has no closeSequence; its grants close when they expire`);
  }
  if (door) {
    if (door.timeBased) return deriveSequence(door.timeBased, windowAt(door.timeBased, choice.now));
    if (door.sequence.length > 0) return [...door.sequence];
    throw new KnocktailError('USAGE', `Door "${door.name}" has only one-time sequences; give the steps of an unused one on the command line`);
  }
  if (stepTexts.length === 0) throw new KnocktailError('USAGE', 'Expected knock steps (tcp:PORT, udp:PORT, icmp) or --door NAME, got neither');
  const problems: string[] = [];
  const steps: Step[] = [];
  for (const text of stepTexts) {
    const step = parseStep(text);
    if (step) steps.push(step);
    else problems.push(`Expected a knock step like "tcp:7000", "udp:8000" or "icmp", got ${describeValue(text)}`);
  }
  if (problems.length > 0) throw new KnocktailError('USAGE', `${problems.length} invalid knock ${problems.length === 1 ? 'step' : 'steps'}`, { details: problems });
  return steps;
}

/** The door called `name`, or a usage error listing the doors there are. */
export function findDoor(doors: readonly Door[], name: string): Door {
  const door = doors.find((candidate) => candidate.name === name);
  if (door) return door;
  const names = doors.map((candidate) => `"${candidate.name}"`).join(', ') || '(none)';
  throw new KnocktailError('USAGE', `Expected --door to name a door of the config (${names}), got "${name}"`);
}
