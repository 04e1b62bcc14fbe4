import { Socket } from 'node:net';
import type { Address } from '../address.js';

// `knock --verify PORT`: after the last knock, connect to the protected port. The first
// attempt starts at once (its SYN is dropped until the door opens, and the kernel's own
// retransmit a second later gets through); a failed attempt is retried once after a pause.
export type ConnectOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };
export type Connect = (target: Address, port: number, timeoutMs: number) => Promise<ConnectOutcome>;

export interface VerifyOptions {
  /** Give up an attempt after this long. */
  readonly attemptTimeoutMs: number;
  /** Pause before the retry. */
  readonly retryPauseMs: number;
  readonly connect?: Connect;
  readonly sleep: (ms: number) => Promise<void>;
  /** A monotonic clock, ms. */
  readonly now: () => number;
}

export type VerifyResult = { readonly ok: true; readonly attempt: number; readonly elapsedMs: number } | { readonly ok: false; readonly failures: readonly string[]; readonly elapsedMs: number };

export const VERIFY_ATTEMPTS = 2;

/** One TCP handshake with `port`, closed again at once. */
export const tcpConnect: Connect = (target, port, timeoutMs) =>
  new Promise((resolve) => {
    const socket = new Socket();
    const done = (outcome: ConnectOutcome): void => {
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(timeoutMs, () => done({ ok: false, reason: `no answer within ${timeoutMs / 1000} s` }));
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, reason: error.code === 'ECONNREFUSED' ? 'refused' : (error.code ?? error.message) }));
    socket.connect({ host: target.text, port, family: target.family });
  });

/** Connects to `port` (retrying once); the time is counted from `startedAt` (the last knock). */
export async function verifyOpen(target: Address, port: number, startedAt: number, options: VerifyOptions): Promise<VerifyResult> {
  const connect = options.connect ?? tcpConnect;
  const failures: string[] = [];
  for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
    if (attempt > 1) await options.sleep(options.retryPauseMs);
    const outcome = await connect(target, port, options.attemptTimeoutMs);
    if (outcome.ok) return { ok: true, attempt, elapsedMs: options.now() - startedAt };
    failures.push(`attempt ${attempt}: ${outcome.reason}`);
  }
  return { ok: false, failures, elapsedMs: options.now() - startedAt };
}
