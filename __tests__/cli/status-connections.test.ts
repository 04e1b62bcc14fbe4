import { describe, expect, test } from '@jest/globals';
import { describeConnections, listGrantedConnections } from '../../src/cli/status-connections.js';
import type { CommandRunner } from '../../src/firewall/backend.js';
import { parseConntrackLine } from '../../src/firewall/conntrack-args.js';

// `status` shows who is connected now: conntrack's entries from granted sources to their ports.
const LISTING = [
  'tcp      6 431999 ESTABLISHED src=198.51.100.2 dst=198.51.100.1 sport=40000 dport=22 src=198.51.100.1 dst=198.51.100.2 sport=22 dport=40000 [ASSURED] mark=0 use=1',
  'tcp      6 117 TIME_WAIT src=198.51.100.2 dst=198.51.100.1 sport=39000 dport=22 src=198.51.100.1 dst=198.51.100.2 sport=22 dport=39000 [ASSURED] mark=0 use=1',
  'tcp      6 431000 ESTABLISHED src=203.0.113.66 dst=198.51.100.1 sport=41000 dport=22 src=198.51.100.1 dst=203.0.113.66 sport=22 dport=41000 [ASSURED] mark=0 use=1',
  '',
].join('\n');

describe('connections from granted sources', () => {
  test('conntrack lines parse to the original direction, udp lines without a state', () => {
    expect(parseConntrackLine(LISTING.split('\n')[0]!)).toEqual({
      proto: 'tcp',
      state: 'ESTABLISHED',
      src: '198.51.100.2',
      sport: 40000,
      dst: '198.51.100.1',
      dport: 22,
    });
    expect(
      parseConntrackLine(
        'udp      17 28 src=2001:db8::2 dst=2001:db8::1 sport=5000 dport=53 [UNREPLIED] src=2001:db8::1 dst=2001:db8::2 sport=53 dport=5000 mark=0 use=1',
      ),
    ).toMatchObject({
      proto: 'udp',
      state: '',
      src: '2001:db8::2',
    });
    expect(parseConntrackLine('conntrack v1.4.8 (conntrack-tools): 3 flow entries have been shown.')).toBeUndefined();
  });

  test('only live connections of sources holding a grant for that port are listed, one conntrack call per family and port', async () => {
    const calls: string[] = [];
    const runner: CommandRunner = {
      run: (argv) => (
        calls.push(argv.join(' ')),
        Promise.resolve({ exitCode: 0, stdout: argv.includes('ipv4') ? LISTING : '', stderr: '' })
      ),
    };
    const grants = [
      { door: 'ssh', src: '198.51.100.2', ports: ['tcp:22'], openedAt: '', until: null },
      { door: 'ssh', src: '2001:db8::2', ports: ['tcp:22'], openedAt: '', until: null },
    ];
    const listing = await listGrantedConnections(grants, runner);
    expect(calls).toEqual(['conntrack -L -f ipv4 -p tcp --dport 22', 'conntrack -L -f ipv6 -p tcp --dport 22']);
    expect(describeConnections(listing)).toEqual([
      'Connections from granted sources (1):',
      '  198.51.100.2:40000 → 198.51.100.1:22 tcp ESTABLISHED',
    ]);
    const failing: CommandRunner = {
      run: () =>
        Promise.resolve({
          exitCode: 1,
          stdout: '',
          stderr: 'conntrack v1.4.8 (conntrack-tools): Operation failed: Operation not permitted\n',
        }),
    };
    expect(describeConnections(await listGrantedConnections(grants, failing))).toEqual([
      'Connections from granted sources: not listed (conntrack exited 1: conntrack v1.4.8 (conntrack-tools): Operation failed: Operation not permitted)',
    ]);
  });
});
