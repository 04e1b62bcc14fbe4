import type { Address, Family } from '../model/address.js';
import { loadConfig } from '../config/load-config.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import { ExecaRunner } from '../firewall/command-runner.js';
import { formatStep, type Step } from '../model/door.js';
import {
  clientConfigPath,
  loadClientProfiles,
  type ClientProfile,
  type KnockProfile,
} from '../client/client-profiles.js';
import { chooseKnockSteps, findDoor, profileSteps } from '../client/knock-steps.js';
import { resolveHost } from '../client/resolve-host.js';
import { DEFAULT_DELAY_MS, describeSteps, sendKnock, sleepFor } from '../client/send-knock.js';
import { VERIFY_ATTEMPTS, verifyOpen } from '../client/verify-open.js';
import { parseHostPort, pipeConnection } from '../client/pipe-connection.js';
import { configPath, writeLine, type CliContext } from './context.js';
import type { CommandAction, ExitCode } from './command-table.js';
import { EXPECTED_SPA_KEYS, knockSpa, type SpaKnockFlags } from './knock-spa.js';

interface KnockFlags extends SpaKnockFlags {
  door?: string;
  close?: boolean;
  delay?: string;
  config?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  udp?: boolean;
  verify?: string;
  profiles?: string;
  spa?: boolean;
  connect?: string;
  quiet?: boolean;
}

/** Where to knock and what to send, from the command line, a door of the config, or a profile. */
interface KnockPlan {
  readonly host: string;
  readonly family?: Family;
  readonly steps: readonly Step[];
  readonly delayMs: number;
  readonly verify?: number;
}

const VERIFY_TIMEOUT_MS = 3_000;
const VERIFY_RETRY_PAUSE_MS = 1_000;

function parseDelay(text: string): number {
  const ms = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(ms)) {
    throw new KnocktailError(
      'USAGE',
      `Expected --delay to be a whole number of milliseconds, got ${describeValue(text)}`,
    );
  }
  return ms;
}

function parseVerify(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text.replace(/^tcp:/, ''));
  if (!/^(tcp:)?\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new KnocktailError(
      'USAGE',
      `Expected --verify to be a TCP port like 22 (1-65535), got ${describeValue(text)}`,
    );
  }
  return port;
}

const EXPECTED_KNOCK =
  'Expected knock steps after the host (e.g. tcp:7000 or 7000), --door NAME, or the name of a client profile';

async function findProfile(
  ctx: CliContext,
  name: string,
  option: string | undefined,
  expected: string,
): Promise<ClientProfile> {
  const path = option ?? clientConfigPath(ctx.env);
  if (path === undefined)
    throw new KnocktailError('USAGE', `${expected}; no profiles: neither XDG_CONFIG_HOME nor HOME is set`);
  let profiles;
  try {
    const loaded = await loadClientProfiles(path, ctx.env['HOME']);
    for (const warning of loaded.warnings) writeLine(ctx.stderr, `knocktail: warning: ${warning}`);
    profiles = loaded.profiles;
  } catch (error) {
    const missing = (error as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT';
    if (error instanceof KnocktailError && missing)
      throw new KnocktailError('USAGE', `${expected}; got "${name}" and no profiles (${path} does not exist)`);
    throw error;
  }
  const profile = profiles.get(name);
  if (profile) return profile;
  const names = [...profiles.keys()].map((key) => `"${key}"`).join(', ') || '(none)';
  throw new KnocktailError('USAGE', `${expected}; got "${name}", which is not a profile of ${path} (${names})`);
}

async function planKnock(
  ctx: CliContext,
  first: string,
  stepTexts: readonly string[],
  flags: KnockFlags,
  profile: KnockProfile | undefined,
): Promise<KnockPlan> {
  const close = flags.close === true;
  const verify = parseVerify(flags.verify);
  if (close && verify !== undefined)
    throw new KnocktailError('USAGE', 'Expected --verify without --close: it checks that a door opened');
  const delayMs = flags.delay === undefined ? undefined : parseDelay(flags.delay);
  if (profile) {
    const verifyPort = verify ?? (close ? undefined : profile.verify);
    return {
      host: profile.host,
      ...(profile.family ? { family: profile.family } : {}),
      steps: profileSteps(profile, close, Date.now()),
      delayMs: delayMs ?? profile.delayMs,
      ...(verifyPort === undefined ? {} : { verify: verifyPort }),
    };
  }
  const door =
    flags.door === undefined
      ? undefined
      : findDoor((await loadConfig(configPath(ctx, flags.config))).doors, flags.door);
  const steps = chooseKnockSteps({
    stepTexts,
    ...(door ? { door } : {}),
    close,
    now: Date.now(),
    udp: flags.udp === true,
  });
  return { host: first, steps, delayMs: delayMs ?? DEFAULT_DELAY_MS, ...(verify === undefined ? {} : { verify }) };
}

/** Where the packets went, for --connect and --verify. */
interface Sent {
  readonly target: Address;
  readonly family?: Family;
  readonly verify?: number;
}

// The steps of the command line, a door or a knock profile, one packet per step.
async function knockSteps(
  ctx: CliContext,
  first: string,
  stepTexts: readonly string[],
  flags: KnockFlags,
  profile: KnockProfile | undefined,
  say: (text: string) => void,
): Promise<Sent> {
  const plan = await planKnock(ctx, first, stepTexts, flags, profile);
  const family = flags.ipv4 ? 4 : flags.ipv6 ? 6 : plan.family;
  const target = await resolveHost(plan.host, family);
  await sendKnock(target, plan.steps, {
    delayMs: plan.delayMs,
    runner: new ExecaRunner({ timeoutMs: 5_000 }),
    sleep: sleepFor,
    onSent: (step) => say(`knocked ${formatStep(step)} on ${target.text}`),
  });
  const count = plan.steps.length;
  say(`sent ${count} ${count === 1 ? 'knock' : 'knocks'} (${describeSteps(plan.steps)}) to ${target.text}`);
  return {
    target,
    ...(family === undefined ? {} : { family }),
    ...(plan.verify === undefined ? {} : { verify: plan.verify }),
  };
}

// `knocktail knock HOST [STEP...]` or `knocktail knock PROFILE`: the client. One packet per
// step, in order, or one SPA packet (--spa, or an SPA profile: what `knock HOST --spa` would
// send, with the profile's settings under the flags); with --verify (or a profile's
// `verify`), a connection to the port after; with --connect, a connection carried over stdio.
export const knock: CommandAction<[string, string[]], KnockFlags> = async (ctx, [first, stepTexts], flags) => {
  if (flags.spa && stepTexts.length > 0)
    throw new KnocktailError('USAGE', `Expected no knock steps with --spa, got ${stepTexts.join(' ')}`);
  // The first argument names a profile unless steps, --door or (with --spa) key files say it is a host.
  const keyFlags = flags.keyFile !== undefined || flags.hmacKeyFile !== undefined;
  const named =
    flags.door === undefined && stepTexts.length === 0 && !(flags.spa && keyFlags)
      ? await findProfile(ctx, first, flags.profiles, flags.spa ? EXPECTED_SPA_KEYS : EXPECTED_KNOCK)
      : undefined;
  const spa = named?.kind === 'spa' || flags.spa === true;
  if (spa) {
    // One packet, no sequence: no close sequence, no pause between knocks.
    const unsupported = (['close', 'delay'] as const).find((flag) => flags[flag] !== undefined);
    if (unsupported) throw new KnocktailError('USAGE', `Expected no --${unsupported} with --spa or an SPA profile`);
    if (named?.kind === 'knock')
      throw new KnocktailError(
        'USAGE',
        `Expected --spa with an SPA profile (one with "spa"), got "${named.name}", a knock profile`,
      );
  }
  if (flags.ipv4 && flags.ipv6) throw new KnocktailError('USAGE', 'Expected at most one of -4 and -6, got both');
  const connectTo = flags.connect === undefined ? undefined : parseHostPort(flags.connect);
  if (connectTo && (flags.close || flags.verify !== undefined))
    throw new KnocktailError(
      'USAGE',
      `Expected --connect without ${flags.close ? '--close' : '--verify'}: the connection itself shows that the door opened`,
    );
  // With --connect, stdout carries the connection: what knock says goes to stderr; --quiet says nothing.
  const say = (text: string): void => {
    if (!flags.quiet) writeLine(connectTo ? ctx.stderr : ctx.stdout, text);
  };
  const sent = spa
    ? await knockSpa(ctx, first, flags, { ...(named?.kind === 'spa' ? { profile: named } : {}), say })
    : await knockSteps(ctx, first, stepTexts, flags, named, say);
  const { target, family } = sent;
  const verify = spa ? (parseVerify(flags.verify) ?? sent.verify) : sent.verify;
  if (connectTo) return connectAfterKnock(ctx, await resolveHost(connectTo.host, family), connectTo.port);
  if (verify === undefined) return 0;
  const result = await verifyOpen(target, verify, performance.now(), {
    attemptTimeoutMs: VERIFY_TIMEOUT_MS,
    retryPauseMs: VERIFY_RETRY_PAUSE_MS,
    sleep: sleepFor,
    now: () => performance.now(),
  });
  const port = `tcp:${verify} on ${target.text}`;
  const seconds = (result.elapsedMs / 1000).toFixed(2);
  if (result.ok) {
    say(
      `verified: ${port} accepted a connection ${seconds} s after the last knock (attempt ${result.attempt} of ${VERIFY_ATTEMPTS})`,
    );
    return 0;
  }
  writeLine(
    ctx.stderr,
    `knocktail: not verified: ${port} accepted no connection within ${seconds} s of the last knock (${result.failures.join('; ')})`,
  );
  return 1;
};

// The connection after the knock, retried as --verify does, then piped to stdin and stdout.
async function connectAfterKnock(ctx: CliContext, target: Address, port: number): Promise<ExitCode> {
  if (!ctx.stdin) throw new KnocktailError('USAGE', 'Expected standard input for --connect, got none');
  const result = await verifyOpen(target, port, performance.now(), {
    attemptTimeoutMs: VERIFY_TIMEOUT_MS,
    retryPauseMs: VERIFY_RETRY_PAUSE_MS,
    keep: true,
    sleep: sleepFor,
    now: () => performance.now(),
  });
  if (!result.ok || !result.socket) {
    writeLine(
      ctx.stderr,
      `knocktail: could not connect to tcp:${port} on ${target.text} after the knock (${result.ok ? 'no connection' : result.failures.join('; ')})`,
    );
    return 1;
  }
  await pipeConnection(result.socket, ctx.stdin, ctx.stdout);
  return 0;
}
