import { describe, expect, test } from '@jest/globals';
import { armGuard, logPathError } from '../../src/canary/arm-guard.js';
import { describeLogPathFacts, logPathAdvice } from '../../src/canary/log-path-advice.js';
import { proveLogPath, type CanaryParts, type LogPathHealth } from '../../src/canary/log-path.js';
import type { FirewallBackend, SetupOptions } from '../../src/firewall/backend.js';
import { FakeSource } from '../support/fake-source.js';
import { sshDoor } from '../firewall/fixtures.js';

const PREFIX = 'kt: ';
const PORT = 63000;
const line = (fields: { in?: string; sport?: number; dport?: number }): string =>
  `2026-12-06T06:50:00.123456+00:00 vm kernel: ${PREFIX}IN=${fields.in ?? 'lo'} OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=127.0.0.1 DST=127.0.0.1 LEN=45 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=UDP SPT=${fields.sport ?? 40000} DPT=${fields.dport ?? PORT} LEN=25 `;

// The canary against a fake source: each send() pushes what `answer` makes of the datagram.
function parts(answer: (sport: number) => string[] | undefined, overrides: Partial<CanaryParts> = {}): CanaryParts {
  const reader = new FakeSource();
  let sport = 40000;
  return {
    reader,
    source: '/var/log/knocktail/knocks.log',
    port: PORT,
    logPrefix: PREFIX,
    send: () => {
      const mine = sport++;
      const lines = answer(mine);
      if (lines) setTimeout(() => void reader.push(lines), 1);
      return Promise.resolve(mine);
    },
    now: () => performance.now(),
    wallClock: () => Date.parse('2026-12-06T06:50:01Z'),
    bootTime: 0,
    timeoutMs: 300,
    resendMs: 50,
    advise: () => Promise.resolve(['use nflog']),
    ...overrides,
  };
}

describe('proving the log path', () => {
  test("the canary's own line (lo, udp to the canary port, from the datagram's source port) proves it", async () => {
    const health = await proveLogPath(parts((sport) => [line({ sport })]));
    expect(health).toMatchObject({ ok: true, source: '/var/log/knocktail/knocks.log', port: PORT });
  });

  test('an older canary (another source port), another interface, another port or a foreign sender prove nothing', async () => {
    const health = await proveLogPath(
      parts((sport) => [
        line({ sport: sport + 1000 }),
        line({ sport, in: 'eth0' }),
        line({ sport, dport: PORT + 1 }),
        line({ sport }).replace(' kernel: ', ' kernel2: '),
      ]),
    );
    expect(health).toMatchObject({ ok: false, advice: ['use nflog'] });
    expect((health as Extract<LogPathHealth, { ok: false }>).reason).toBe(
      `no line of the canary (udp to 127.0.0.1:${PORT}, tagged "${PREFIX}") came through /var/log/knocktail/knocks.log within 0.3s`,
    );
  });

  test('a datagram lost before the reader settled is made good by the next one', async () => {
    let sends = 0;
    const health = await proveLogPath(parts((sport) => (++sends === 1 ? undefined : [line({ sport })])));
    expect(health.ok).toBe(true);
    expect(sends).toBeGreaterThan(1);
  });

  test('a failing send is named in the reason', async () => {
    const health = await proveLogPath(parts(() => undefined, { send: () => Promise.reject(new Error('EPERM')) }));
    expect(!health.ok && health.reason).toMatch(/\(sending it failed: EPERM\)$/);
  });
});

// Records the order of setup phases and teardowns.
function recordingBackend(calls: string[]): FirewallBackend {
  return {
    name: 'recording',
    open: () => Promise.resolve(),
    close: () => Promise.resolve(),
    list: () => Promise.resolve([]),
    setup: (_doors, _host, options?: SetupOptions) => {
      calls.push(options?.armed === false ? 'setup log+canary' : 'setup armed');
      return Promise.resolve();
    },
    teardown: () => {
      calls.push('teardown');
      return Promise.resolve();
    },
    describeSetup: () => [],
  };
}

const OK: LogPathHealth = { ok: true, source: 'f', port: PORT, at: 0, latencyMs: 1 };
const SILENT: LogPathHealth = {
  ok: false,
  source: 'f',
  port: PORT,
  at: 0,
  waitedMs: 5000,
  reason: 'no line came',
  advice: ['use nflog'],
};

describe('arming in two phases', () => {
  test('log rules and canary first; the refusals only once the canary came back', async () => {
    const calls: string[] = [];
    const health = await armGuard(recordingBackend(calls), [sshDoor], () => {
      calls.push('canary');
      return Promise.resolve(OK);
    });
    expect(calls).toEqual(['setup log+canary', 'canary', 'setup armed']);
    expect(health).toBe(OK);
  });

  test('a silent path is never armed: the guard is removed, and the error says why and what to configure', async () => {
    const calls: string[] = [];
    const health = await armGuard(recordingBackend(calls), [sshDoor], () => Promise.resolve(SILENT));
    expect(calls).toEqual(['setup log+canary', 'teardown']);
    const error = logPathError(SILENT);
    expect(error.code).toBe('LOG_PATH');
    expect(error.message).toBe(
      'Refusing to arm the guard: no line came. Knocks could not arrive, so nothing is hidden (the protected ports stay reachable).',
    );
    expect(error.details).toEqual(['to configure: use nflog']);
    expect(health).toBe(SILENT);
  });

  test('without a prover (dry-run) the guard is armed in one step', async () => {
    const calls: string[] = [];
    expect(await armGuard(recordingBackend(calls), [sshDoor], undefined)).toBeUndefined();
    expect(calls).toEqual(['setup armed']);
  });

  test('an armed guard (a reload, a second setup) is replaced armed, never through the unarmed phase; the path is still proven', async () => {
    const calls: string[] = [];
    const armed = { ...recordingBackend(calls), isArmed: () => Promise.resolve(true) };
    const health = await armGuard(armed, [sshDoor], () => {
      calls.push('canary');
      return Promise.resolve(OK);
    });
    expect(calls).toEqual(['setup armed', 'canary']);
    expect(health).toBe(OK);
  });

  test('an armed guard whose path went silent is disarmed', async () => {
    const calls: string[] = [];
    const armed = { ...recordingBackend(calls), isArmed: () => Promise.resolve(true) };
    expect(await armGuard(armed, [sshDoor], () => Promise.resolve(SILENT))).toBe(SILENT);
    expect(calls).toEqual(['setup armed', 'teardown']);
  });
});

describe('advice for a silent path', () => {
  test('in a container with the LOG source: nf_log_all_netns or the nflog source first, then rsyslog', () => {
    const advice = logPathAdvice({
      source: 'file',
      logFile: '/var/log/knocktail/knocks.log',
      container: 'systemd-nspawn',
      nfLogAllNetns: undefined,
    });
    expect(advice[0]).toMatch(/^this is a container \(systemd-nspawn\): .*nf_log_all_netns=1.*set "source": "nflog"/);
    expect(advice[1]).toMatch(/^rsyslog must run and route the kernel's lines to \/var\/log\/knocktail\/knocks\.log/);
  });

  test('on a host, only the source itself is suspect', () => {
    const advice = logPathAdvice({ source: 'kmsg', logFile: '/x', container: undefined, nfLogAllNetns: false });
    expect(advice).toEqual([expect.stringMatching(/^the daemon must read \/dev\/kmsg/)]);
  });
});

describe('what check-config says of the path', () => {
  test('a LOG source in a container is warned about before anything runs', () => {
    const lines = describeLogPathFacts(
      { source: 'file', logFile: '/var/log/knocktail/knocks.log', container: 'lxc', nfLogAllNetns: undefined },
      63000,
    );
    expect(lines[0]).toBe(
      'log path: source file, /var/log/knocktail/knocks.log (rsyslog); setup and every daemon start send a canary (udp 127.0.0.1:63000) and arm the guard only once its line came back',
    );
    expect(lines[1]).toMatch(/^warning: this is a container \(lxc\): /);
  });

  test('the nflog source in a container, or a LOG source on a host, gets no warning', () => {
    expect(
      describeLogPathFacts({ source: 'nflog', logFile: '/k.log', container: 'lxc', nfLogAllNetns: undefined }, 63000),
    ).toHaveLength(1);
    expect(
      describeLogPathFacts({ source: 'file', logFile: '/k.log', container: undefined, nfLogAllNetns: false }, 63000),
    ).toHaveLength(1);
  });
});
