import { spaKeyProblem } from '../spa/spa-keys.js';
import { readSecretFile } from './secret-file.js';

// The one reader of fwknop key files (KEY_BASE64, HMAC_KEY_BASE64), for SPA doors, client
// profiles and `knock --spa --key-file`: bounded regular files, whitespace trimmed, a line
// copied whole from access.conf, ~/.fwknoprc or `fwknop --key-gen` output accepted too.
export type SpaKeyFileRead =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

export function readSpaKeyFile(path: string, kind: 'encryption' | 'hmac'): SpaKeyFileRead {
  const secret = readSecretFile(path);
  if (!secret.ok)
    return {
      ok: false,
      problem: `cannot read the ${kind === 'hmac' ? 'HMAC ' : ''}key from ${JSON.stringify(path)}: ${secret.reason}`,
    };
  const value = secret.secret.replace(/^(HMAC_)?KEY_BASE64[:\s]\s*/, '');
  const problem = spaKeyProblem(value, kind);
  return problem ? { ok: false, problem: `${problem} in ${JSON.stringify(path)}` } : { ok: true, value };
}
