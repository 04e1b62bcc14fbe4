import { execFileSync } from 'node:child_process';

// Debian's fwknop client for the SPA system tests: keys from `fwknop --key-gen`, and the argv of
// a packet to `server` in Rijndael + HMAC mode (HOME points at a scratch dir: fwknop writes there).
export interface SpaKeyPair {
  readonly key: string;
  readonly hmac: string;
}

export function fwknopKeyGen(home: string): SpaKeyPair {
  const out = execFileSync('fwknop', ['--key-gen', '--use-hmac'], {
    env: { ...process.env, HOME: home },
    encoding: 'utf8',
  });
  return { key: /KEY_BASE64: (\S+)/.exec(out)![1]!, hmac: /HMAC_KEY_BASE64: (\S+)/.exec(out)![1]! };
}

export function fwknopArgs(server: string, port: number, keys: SpaKeyPair, extra: readonly string[]): string[] {
  return [
    'fwknop',
    ...extra,
    '-D',
    server,
    '-p',
    String(port),
    '--use-hmac',
    '--key-base64-rijndael',
    keys.key,
    '--key-base64-hmac',
    keys.hmac,
    '--no-save-args',
  ];
}
