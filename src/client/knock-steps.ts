import { parseStep } from '../config/steps.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { Door, Step } from '../model/door.js';
import { deriveSequence, windowAt } from '../knock/time-based.js';
import type { KnockProfile } from './client-profiles.js';

// Which packets `knocktail knock` sends: the steps on the command line, or a door's
// sequence from the config (for a time-based door, the one for the current window).
export interface StepChoice {
  readonly stepTexts: readonly string[];
  readonly door?: Door;
  /** Send the door's close sequence instead of its open sequence. */
  readonly close?: boolean;
  /** Epoch ms, for time-based doors. */
  readonly now: number;
  /** knockd's `-u`: bare ports ("7000") are UDP rather than TCP. */
  readonly udp?: boolean;
}

const KNOCKD_STEP = /^(\d{1,5})(?::(tcp|udp))?$/;

/** A knock step as typed: "tcp:7000", "udp:8000", "icmp", or knockd's "7000" and "8000:udp". */
export function parseClientStep(text: string, bareProto: 'tcp' | 'udp' = 'tcp'): Step | undefined {
  const knockd = KNOCKD_STEP.exec(text);
  return parseStep(knockd ? `${knockd[2] ?? bareProto}:${knockd[1]}` : text);
}

export function chooseKnockSteps(choice: StepChoice): Step[] {
  const { door, stepTexts } = choice;
  if (door && stepTexts.length > 0) {
    throw new KnocktailError(
      'USAGE',
      `Expected either steps or --door, got both (--door ${door.name} and ${stepTexts.join(' ')})`,
    );
  }
  if (choice.close && !door)
    throw new KnocktailError('USAGE', 'Expected --door NAME or a profile with --close, got neither');
  if (door && choice.close) {
    if (door.closeSequence.length > 0) return [...door.closeSequence];
    throw new KnocktailError('USAGE', `Door "${door.name}" has no closeSequence; its grants close when they expire`);
  }
  if (door) {
    if (door.timeBased) return deriveSequence(door.timeBased, windowAt(door.timeBased, choice.now));
    if (door.sequence.length > 0) return [...door.sequence];
    throw new KnocktailError(
      'USAGE',
      `Door "${door.name}" has only one-time sequences; give the steps of an unused one on the command line`,
    );
  }
  if (stepTexts.length === 0)
    throw new KnocktailError('USAGE', 'Expected knock steps (tcp:PORT, udp:PORT, icmp) or --door NAME, got neither');
  return parseStepTexts(stepTexts, choice.udp ? 'udp' : 'tcp');
}

/** Steps typed on the command line; every bad one is reported at once. */
export function parseStepTexts(stepTexts: readonly string[], bareProto: 'tcp' | 'udp'): Step[] {
  const problems: string[] = [];
  const steps: Step[] = [];
  for (const text of stepTexts) {
    const step = parseClientStep(text, bareProto);
    if (step) steps.push(step);
    else
      problems.push(
        `Expected a knock step like "tcp:7000", "udp:8000" or "icmp" (or knockd's "7000", "8000:udp"; ports 1-65535), got ${describeValue(text)}`,
      );
  }
  if (problems.length > 0)
    throw new KnocktailError('USAGE', `${problems.length} invalid knock ${problems.length === 1 ? 'step' : 'steps'}`, {
      details: problems,
    });
  return steps;
}

/** What a client profile sends: its steps (or the current window's time-based ones), or its close steps. */
export function profileSteps(profile: KnockProfile, close: boolean, now: number): Step[] {
  if (close) {
    if (profile.closeSteps.length > 0) return [...profile.closeSteps];
    throw new KnocktailError(
      'USAGE',
      `Profile "${profile.name}" has no closeSteps; add them to the profile, or let the grant expire`,
    );
  }
  return profile.timeBased ? deriveSequence(profile.timeBased, windowAt(profile.timeBased, now)) : [...profile.steps];
}

/** The door called `name`, or a usage error listing the doors there are. */
export function findDoor(doors: readonly Door[], name: string): Door {
  const door = doors.find((candidate) => candidate.name === name);
  if (door) return door;
  const names = doors.map((candidate) => `"${candidate.name}"`).join(', ') || '(none)';
  throw new KnocktailError('USAGE', `Expected --door to name a door of the config (${names}), got "${name}"`);
}
