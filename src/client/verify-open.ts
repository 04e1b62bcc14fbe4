import { Socket } from 'node:net';
import type { Address } from '../model/address.js';

// `knock --verify PORT`: after the last knock, connect to the protected port. The first
// attempt starts at once (its SYN is dropped until the door opens, and the kernel's own
// retransmit a second later gets through); a failed attempt is retried once after a pause.
export type ConnectOutcome =
  { readonly ok: true; readonly socket?: Socket } | { readonly ok: false; readonly reason: string };
/** With `keep`, the connected socket is handed back open (`knock --connect`) instead of closed. */
export type Connect = (target: Address, port: number, timeoutMs: number, keep?: boolean) => Promise<ConnectOutcome>;

export interface VerifyOptions {
  /** Give up an attempt after this long. */
  readonly attemptTimeoutMs: number;
  /** Pause before the retry. */
  readonly retryPauseMs: number;
  readonly connect?: Connect;
  /** Hand back the connection of the attempt that worked, open. */
  readonly keep?: boolean;
  readonly sleep: (ms: number) => Promise<void>;
  /** A monotonic clock, ms. */
  readonly now: () => number;
}

export type VerifyResult =
  | { readonly ok: true; readonly attempt: number; readonly elapsedMs: number; readonly socket?: Socket }
  | { readonly ok: false; readonly failures: readonly string[]; readonly elapsedMs: number };

export const VERIFY_ATTEMPTS = 2;

/** One TCP handshake with `port`, closed again at once unless `keep`. */
export const tcpConnect: Connect = (target, port, timeoutMs, keep = false) =>
  new Promise((resolve) => {
    const socket = new Socket();
    const done = (outcome: ConnectOutcome): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, reason: `no answer within ${timeoutMs / 1000} s` }));
    socket.once('connect', () => {
      if (!keep) {
        done({ ok: true });
        return;
      }
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      resolve({ ok: true, socket });
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, reason: error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message) }),
    );
    socket.connect({ host: target.text, port, family: target.family });
  });

/** Connects to `port` (retrying once); the time is counted from `startedAt` (the last knock). */
export async function verifyOpen(
  target: Address,
  port: number,
  startedAt: number,
  options: VerifyOptions,
): Promise<VerifyResult> {
  const connect = options.connect ?? tcpConnect;
  const failures: string[] = [];
  for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
    if (attempt > 1) await options.sleep(options.retryPauseMs);
    const outcome = await connect(target, port, options.attemptTimeoutMs, options.keep === true);
    if (outcome.ok)
      return {
        ok: true,
        attempt,
        elapsedMs: options.now() - startedAt,
        ...(outcome.socket ? { socket: outcome.socket } : {}),
      };
    failures.push(`attempt ${attempt}: ${outcome.reason}`);
  }
  return { ok: false, failures, elapsedMs: options.now() - startedAt };
}
