import { loadConfig } from '../config/load-config.js';
import { KnocktailError, describeValue } from '../errors.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { formatStep } from '../model/door.js';
import { chooseKnockSteps, findDoor } from '../client/knock-steps.js';
import { resolveHost } from '../client/resolve-host.js';
import { DEFAULT_DELAY_MS, describeSteps, sendKnock, sleepFor } from '../client/send-knock.js';
import { configPath, writeLine } from './context.js';
import type { CommandAction } from './command-table.js';

interface KnockFlags {
  door?: string;
  close?: boolean;
  delay?: string;
  config?: string;
  ipv4?: boolean;
  ipv6?: boolean;
}

function parseDelay(text: string | undefined): number {
  if (text === undefined) return DEFAULT_DELAY_MS;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(ms)) {
    throw new KnocktailError('USAGE', `Expected --delay to be a whole number of milliseconds, got ${describeValue(text)}`);
  }
  return ms;
}

// `knocktail knock HOST [STEP...]`: the client. One packet per step, in order.
export const knock: CommandAction<[string, string[]], KnockFlags> = async (ctx, [host, stepTexts], flags) => {
  if (flags.ipv4 && flags.ipv6) throw new KnocktailError('USAGE', 'Expected at most one of -4 and -6, got both');
  const delayMs = parseDelay(flags.delay);
  const door = flags.door === undefined ? undefined : findDoor((await loadConfig(configPath(ctx, flags.config))).doors, flags.door);
  const steps = chooseKnockSteps({ stepTexts, ...(door ? { door } : {}), close: flags.close === true, now: Date.now() });
  const target = await resolveHost(host, flags.ipv4 ? 4 : flags.ipv6 ? 6 : undefined);
  await sendKnock(target, steps, {
    delayMs,
    runner: new ExecaRunner({ timeoutMs: 5_000 }),
    sleep: sleepFor,
    onSent: (step) => writeLine(ctx.stdout, `knocked ${formatStep(step)} on ${target.text}`),
  });
  writeLine(ctx.stdout, `sent ${steps.length} ${steps.length === 1 ? 'knock' : 'knocks'} (${describeSteps(steps)}) to ${target.text}`);
  return 0;
};
