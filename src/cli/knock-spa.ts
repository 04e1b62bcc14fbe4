import { userInfo } from 'node:os';
import { loadConfig } from '../config/load-config.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import { findDoor } from '../client/knock-steps.js';
import { resolveHost } from '../client/resolve-host.js';
import { buildSpaPacket, readSpaKeyFiles, sendSpaPacket } from '../client/spa-request.js';
import { decodeSpaKeys, type SpaKeys } from '../spa/spa-keys.js';
import { configPath, writeLine, type CliContext } from './context.js';
import type { ExitCode } from './command-table.js';

// `knocktail knock HOST --spa`: one SPA packet, to a knocktail SPA door or to fwknopd. The keys
// and port come from --key-file/--hmac-key-file/--spa-port, or from a door of the config (--door).
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

const DEFAULT_SPA_PORT = 62201;

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

async function doorSettings(
  ctx: CliContext,
  flags: SpaKnockFlags,
): Promise<{ keys: SpaKeys; port: number; access: string } | undefined> {
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

export async function knockSpa(ctx: CliContext, host: string, flags: SpaKnockFlags): Promise<ExitCode> {
  if (flags.ipv4 && flags.ipv6) throw new KnocktailError('USAGE', 'Expected at most one of -4 and -6, got both');
  const fromDoor = await doorSettings(ctx, flags);
  let keys = fromDoor?.keys;
  if (!keys) {
    if (flags.keyFile === undefined || flags.hmacKeyFile === undefined)
      throw new KnocktailError(
        'USAGE',
        'Expected --key-file and --hmac-key-file (KEY_BASE64 and HMAC_KEY_BASE64, as `fwknop --key-gen` prints them), or --door NAME of an SPA door',
      );
    keys = readSpaKeyFiles(flags.keyFile, flags.hmacKeyFile);
  }
  const access = flags.access ?? fromDoor?.access ?? 'tcp/22';
  if (!/^(tcp|udp)\/\d{1,5}(,(tcp|udp)\/\d{1,5})*$/.test(access))
    throw new KnocktailError('USAGE', `Expected --access like tcp/22 or tcp/22,udp/53, got ${describeValue(access)}`);
  const port = numberFlag('--spa-port', flags.spaPort, 1, 65535) ?? fromDoor?.port ?? DEFAULT_SPA_PORT;
  const timeout = numberFlag('--fw-timeout', flags.fwTimeout, 1, 86_400);
  const allow = flags.allow ?? '0.0.0.0';
  const target = await resolveHost(host, flags.ipv4 ? 4 : flags.ipv6 ? 6 : undefined);
  const packet = buildSpaPacket(
    { access, allow, user: userInfo().username, now: Date.now(), ...(timeout === undefined ? {} : { timeout }) },
    keys,
  );
  await sendSpaPacket(target, port, packet);
  writeLine(
    ctx.stdout,
    `sent an SPA packet (${access} for ${allow === '0.0.0.0' ? 'the address it comes from' : allow}) to ${target.text} udp/${port}`,
  );
  return 0;
}
