// Exponential backoff around one async step; the sleep is injected so tests never wait.
export interface RetryOptions {
  /** Further attempts after the first one fails. */
  readonly retries: number;
  /** Delay before the first retry; doubled for each one after it. */
  readonly baseDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Whether an error is worth another attempt (default: every error). */
  readonly retryable?: (error: unknown) => boolean;
}

/** Runs `fn` until it resolves or `retries` further attempts have failed; rethrows the last error. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.retries || !(options.retryable?.(error) ?? true)) throw error;
      await options.sleep(options.baseDelayMs * 2 ** attempt);
    }
  }
}

// The real sleep, for wiring; tests pass a recording fake.
export function sleepFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
