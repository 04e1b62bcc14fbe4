import { describe, expect, test } from '@jest/globals';
import { SpaService } from '../../src/app/spa-service.js';
import type { Config } from '../../src/config/types.js';
import type { ByteStream, StreamStarter } from '../../src/firewall/interactive-process.js';
import { makeSpaDoor } from './spa-fixtures.js';

// Before the daemon arms the guard it checks that every SPA port can be captured: a tcpdump per
// port is started until it listens, then stopped (and waited for, so the real capture can bind
// the same NFLOG group).
type Outcome = { readonly listens: true } | { readonly exits: string };

function starter(outcome: Outcome, events: string[]): StreamStarter {
  return {
    stream: (argv): ByteStream => {
      events.push(`start ${argv.join(' ')}`);
      const exitListeners: ((detail: string) => void)[] = [];
      const exit = (detail: string): void => {
        events.push(`exit ${detail}`);
        for (const fn of exitListeners.splice(0)) fn(detail);
      };
      return {
        onData: () => undefined,
        onStderr: (fn) => {
          if ('listens' in outcome) queueMicrotask(() => fn(`listening on ${argv[2]}, link-type NFLOG\n`));
        },
        onExit: (fn) => {
          exitListeners.push(fn);
          if ('exits' in outcome) queueMicrotask(() => exit(outcome.exits));
        },
        kill: () => queueMicrotask(() => exit('SIGTERM')),
      };
    },
  };
}

const config = { doors: [makeSpaDoor(), makeSpaDoor({ name: 'spa-2' }, { port: 62202 })] } as unknown as Config;

describe('SpaService.preflight', () => {
  test('every SPA port listens: no problem, and each capture has exited before it resolves', async () => {
    const events: string[] = [];
    expect(await SpaService.preflight(config, starter({ listens: true }, events))).toBeUndefined();
    expect(events).toEqual([
      'start tcpdump -i nflog:62201 --immediate-mode -U -w -',
      'exit SIGTERM',
      'start tcpdump -i nflog:62202 --immediate-mode -U -w -',
      'exit SIGTERM',
    ]);
  });

  test('a capture that exits before it listens: the doors, the port and why', async () => {
    const missing =
      'Expected the program `tcpdump` on PATH, but it was not found; install the Debian package `tcpdump` (apt-get install tcpdump)';
    expect(await SpaService.preflight(config, starter({ exits: missing }, []))).toBe(
      `the SPA door(s) spa cannot read their packets on udp/62201: tcpdump on nflog:62201 exited (${missing})`,
    );
  });
});
