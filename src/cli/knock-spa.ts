import { parseFwknopPort } from '../model/door.js';
import { userInfo } from 'node:os';
import { loadConfig } from '../config/load-config.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { Address, Family } from '../model/address.js';
import type { SpaProfile } from '../client/client-profiles.js';
import { findDoor } from '../client/knock-steps.js';
import { resolveHost } from '../client/resolve-host.js';
import { buildSpaPacket, readSpaKeyFiles, sendSpaPacket } from '../client/spa-request.js';
import { decodeSpaKeys, type SpaKeys } from '../spa/spa-keys.js';
import { configPath, type CliContext } from './context.js';

// `knocktail knock HOST --spa` or `knocktail knock PROFILE` (an SPA profile): one SPA packet,
// to a knocktail SPA door or to fwknopd. The keys and port come from --key-file/--hmac-key-file/
// --spa-port, from a door of the config (--door), or from the profile; flags win.
export interface SpaKnockFlags {
  door?: string;
  config?: string;
  ipv4?: boolean;
  ipv6?: boolean;
  keyFile?: string;
  hmacKeyFile?: string;
  spaPort?: string;
  access?: string;
  allow?: string;
  fwTimeout?: string;
}

/** What a door of the config or a profile says; each flag given on the command line wins over it. */
interface SpaDefaults {
  readonly keys: SpaKeys;
  readonly port: number;
  readonly access: string;
  readonly allow?: string;
  readonly fwTimeout?: number;
  readonly family?: Family;
}

/** Everything one packet needs, after flags, door or profile, and defaults. */
interface SpaPlan {
  readonly keys: SpaKeys;
  readonly port: number;
  readonly access: string;
  readonly allow: string;
  readonly timeout?: number;
  readonly family?: Family;
}

const DEFAULT_SPA_PORT = 62201;

export const EXPECTED_SPA_KEYS =
  'Expected --key-file and --hmac-key-file (KEY_BASE64 and HMAC_KEY_BASE64, as `fwknop --key-gen` prints them), --door NAME of an SPA door, or the name of an SPA client profile';

function numberFlag(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    throw new KnocktailError(
      'USAGE',
      `Expected ${name} to be a whole number from ${min} to ${max}, got ${describeValue(text)}`,
    );
  return value;
}

async function doorSettings(ctx: CliContext, flags: SpaKnockFlags): Promise<SpaDefaults | undefined> {
  if (flags.door === undefined) return undefined;
  const door = findDoor((await loadConfig(configPath(ctx, flags.config))).doors, flags.door);
  if (!door.spa)
    throw new KnocktailError('USAGE', `Expected --door to name an SPA door (one with "spa"), got "${door.name}"`);
  return {
    keys: decodeSpaKeys(door.spa.key, door.spa.hmacKey),
    port: door.spa.port,
    access: door.open.map((port) => `${port.proto}/${port.port}`).join(','),
  };
}

/** The packet's settings: each flag given wins over the door or profile, which wins over fwknop's defaults. */
function planSpaKnock(flags: SpaKnockFlags, defaults: SpaDefaults | undefined): SpaPlan {
  const keys = chooseKeys(flags, defaults?.keys);
  const access = flags.access ?? defaults?.access ?? 'tcp/22';
  if (!access.split(',').every((item) => parseFwknopPort(item)))
    throw new KnocktailError('USAGE', `Expected --access like tcp/22 or tcp/22,udp/53, got ${describeValue(access)}`);
  const port = numberFlag('--spa-port', flags.spaPort, 1, 65535) ?? defaults?.port ?? DEFAULT_SPA_PORT;
  const timeout = numberFlag('--fw-timeout', flags.fwTimeout, 1, 86_400) ?? defaults?.fwTimeout;
  const family = flags.ipv4 ? 4 : flags.ipv6 ? 6 : defaults?.family;
  return {
    keys,
    port,
    access,
    allow: flags.allow ?? defaults?.allow ?? '0.0.0.0',
    ...(timeout === undefined ? {} : { timeout }),
    ...(family === undefined ? {} : { family }),
  };
}

// --key-file and --hmac-key-file each replace the door's or profile's key; without either, both flags are needed.
function chooseKeys(flags: SpaKnockFlags, fallback: SpaKeys | undefined): SpaKeys {
  if (flags.keyFile === undefined && flags.hmacKeyFile === undefined && fallback) return fallback;
  if (fallback === undefined && (flags.keyFile === undefined || flags.hmacKeyFile === undefined))
    throw new KnocktailError('USAGE', EXPECTED_SPA_KEYS);
  return readSpaKeyFiles(flags.keyFile, flags.hmacKeyFile, fallback);
}

/** Sends the one packet; says what it sent through `say` (stdout, or stderr under --connect). */
export async function knockSpa(
  ctx: CliContext,
  host: string,
  flags: SpaKnockFlags,
  options: { readonly profile?: SpaProfile; readonly say: (text: string) => void },
): Promise<{ target: Address; family?: Family; verify?: number }> {
  const { profile } = options;
  const plan = planSpaKnock(flags, profile ?? (await doorSettings(ctx, flags)));
  const target = await resolveHost(profile?.host ?? host, plan.family);
  const packet = buildSpaPacket(
    {
      access: plan.access,
      allow: plan.allow,
      user: userInfo().username,
      now: Date.now(),
      ...(plan.timeout === undefined ? {} : { timeout: plan.timeout }),
    },
    plan.keys,
  );
  await sendSpaPacket(target, plan.port, packet);
  options.say(
    `sent an SPA packet (${plan.access} for ${plan.allow === '0.0.0.0' ? 'the address it comes from' : plan.allow}) to ${target.text} udp/${plan.port}`,
  );
  return {
    target,
    ...(plan.family === undefined ? {} : { family: plan.family }),
    ...(profile?.verify === undefined ? {} : { verify: profile.verify }),
  };
}
