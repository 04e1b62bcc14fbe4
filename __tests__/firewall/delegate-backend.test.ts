import { describe, expect, test } from '@jest/globals';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import { delegateBackend } from '../../src/firewall/delegate-backend.js';
import { withHostFirewallCheck } from '../../src/firewall/host-firewall-check.js';
import { timeBackend } from '../../src/metrics/timed-backend.js';
import { RecordingRunner } from '../support/recording-runner.js';

// A backend that answers every method, optional ones included, and says which one was asked.
function answering(calls: string[], optional = true): FirewallBackend {
  const answer = <T>(method: string, value: T) => {
    calls.push(method);
    return Promise.resolve(value);
  };
  const required: FirewallBackend = {
    name: 'inner',
    open: () => answer('open', undefined),
    close: () => answer('close', undefined),
    list: () => answer('list', []),
    setup: () => answer('setup', undefined),
    teardown: () => answer('teardown', undefined),
    describeSetup: () => (calls.push('describeSetup'), []),
    stop: () => answer('stop', undefined),
  };
  if (!optional) return required;
  return {
    ...required,
    isArmed: () => answer('isArmed', true),
    checkGuard: () => answer('checkGuard', true),
    checkForward: () => answer('checkForward', undefined),
  };
}

const OPTIONAL = ['isArmed', 'checkGuard', 'checkForward'] as const;

describe('wrapping a backend', () => {
  const wrappers: [string, (inner: FirewallBackend) => FirewallBackend][] = [
    ['delegateBackend', (inner) => delegateBackend(inner)],
    ['timeBackend (metrics)', (inner) => timeBackend(inner, () => undefined)],
    [
      'withHostFirewallCheck',
      (inner) =>
        withHostFirewallCheck(inner, new RecordingRunner(), { backend: 'iptables', mode: 'ignore', refusal: 'drop' }),
    ],
  ];

  test.each(wrappers)('%s passes every optional method through to the backend', async (_name, wrap) => {
    const calls: string[] = [];
    const wrapped = wrap(answering(calls));
    expect(await wrapped.isArmed?.()).toBe(true);
    expect(await wrapped.checkGuard?.()).toBe(true);
    await wrapped.checkForward?.([]);
    expect(calls).toEqual([...OPTIONAL]);
  });

  test.each(wrappers)('%s leaves out an optional method the backend does not have', (_name, wrap) => {
    const wrapped = wrap(answering([], false));
    expect(OPTIONAL.filter((method) => method in wrapped)).toEqual([]);
  });
});
