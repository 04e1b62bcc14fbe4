import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { osReason } from './os-reason.js';

// Reads a time-based door's secret file. Synchronous because validation is; bounded and
// regular files only, so a path like /dev/zero cannot hang or fill memory.
const MAX_SECRET_BYTES = 4096;

export type SecretRead =
  { readonly ok: true; readonly secret: string } | { readonly ok: false; readonly reason: string };

export function readSecretFile(path: string): SecretRead {
  let fd: number | undefined;
  try {
    // Non-blocking open: a FIFO must not stall validation waiting for a writer.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { ok: false, reason: 'not a regular file' };
    if (stats.size > MAX_SECRET_BYTES)
      return { ok: false, reason: `larger than ${MAX_SECRET_BYTES} bytes; expected a short secret` };
    const buffer = Buffer.alloc(MAX_SECRET_BYTES);
    const length = readSync(fd, buffer, 0, MAX_SECRET_BYTES, 0);
    const secret = buffer.subarray(0, length).toString('utf8').trim();
    return secret === '' ? { ok: false, reason: 'the file is empty' } : { ok: true, secret };
  } catch (error) {
    return { ok: false, reason: osReason(error) };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
