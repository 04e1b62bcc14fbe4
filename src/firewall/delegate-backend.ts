import type { FirewallBackend } from './backend.js';

// One way to wrap a backend: every method goes to `backend` unless `overrides` replaces it, the
// optional ones only when `backend` has them. The list below is checked by the compiler against
// FirewallBackend, so a method added there cannot be dropped by a wrapper (as `isArmed` once was).
type Methods = {
  [K in keyof FirewallBackend]-?: FirewallBackend[K] extends ((...args: never[]) => unknown) | undefined ? K : never;
}[keyof FirewallBackend];

const METHODS = {
  open: true,
  close: true,
  list: true,
  setup: true,
  teardown: true,
  isArmed: true,
  describeSetup: true,
  checkGuard: true,
  checkForward: true,
  stop: true,
} as const satisfies Record<Methods, true>;

/** `backend` with some of its methods replaced (and its name, if given). */
export function delegateBackend(backend: FirewallBackend, overrides: Partial<FirewallBackend> = {}): FirewallBackend {
  const delegated: Record<string, unknown> = { name: backend.name };
  for (const method of Object.keys(METHODS) as Methods[]) {
    if (backend[method] === undefined) continue;
    delegated[method] = (...args: unknown[]) =>
      (backend as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...args);
  }
  return { ...(delegated as unknown as FirewallBackend), ...overrides };
}
