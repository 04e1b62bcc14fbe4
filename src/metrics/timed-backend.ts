import type { FirewallBackend } from '../firewall/backend.js';
import { delegateBackend } from '../firewall/delegate-backend.js';
import type { Grant } from '../model/grant.js';

// Wraps a backend so every open/close/list reports its duration (firewall latency histogram).
export function timeBackend(
  backend: FirewallBackend,
  observe: (action: string, seconds: number) => void,
): FirewallBackend {
  const timed = async <T>(action: string, call: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    try {
      return await call();
    } finally {
      observe(action, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
  return delegateBackend(backend, {
    open: (grant: Grant) => timed('open', () => backend.open(grant)),
    close: (grant: Grant) => timed('close', () => backend.close(grant)),
    list: () => timed('list', () => backend.list()),
  });
}
