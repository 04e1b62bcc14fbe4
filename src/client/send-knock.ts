import type { Address } from '../model/address.js';
import type { CommandRunner } from '../firewall/backend.js';
import { formatStep, type Step } from '../model/door.js';
import { sendEchoRequest, sendTcpSyn, sendUdpDatagram } from './knock-packets.js';

// The knock client: each step of a sequence as exactly one packet, in order, with a pause
// between steps so they arrive (and are logged) in that order.
export interface KnockOptions {
  /** Pause between two steps, ms. */
  readonly delayMs: number;
  /** Runs ping(8) for icmp steps. */
  readonly runner: CommandRunner;
  readonly sleep: (ms: number) => Promise<void>;
  /** Told after each step is sent. */
  readonly onSent?: (step: Step, index: number) => void;
}

export const DEFAULT_DELAY_MS = 100;

export function sleepFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function sendStep(target: Address, step: Step, runner: CommandRunner): Promise<void> {
  switch (step.proto) {
    case 'tcp':
      return sendTcpSyn(target, step.port!);
    case 'udp':
      return sendUdpDatagram(target, step.port!);
    case 'icmp':
      return sendEchoRequest(target, runner);
  }
}

export async function sendKnock(target: Address, steps: readonly Step[], options: KnockOptions): Promise<void> {
  for (const [index, step] of steps.entries()) {
    if (index > 0 && options.delayMs > 0) await options.sleep(options.delayMs);
    await sendStep(target, step, options.runner);
    options.onSent?.(step, index);
  }
}

/** "tcp:7000 udp:8000 icmp", for messages. */
export function describeSteps(steps: readonly Step[]): string {
  return steps.map(formatStep).join(' ');
}
