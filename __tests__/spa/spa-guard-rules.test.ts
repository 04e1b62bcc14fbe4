import { describe, expect, test } from '@jest/globals';
import { buildGuardRuleSpecs } from '../../src/firewall/guard-args.js';
import { buildNftSetupStatements } from '../../src/firewall/nft-args.js';
import type { Door } from '../../src/model/door.js';
import { makeSpaDoor } from './spa-fixtures.js';

// The guard's part of SPA: NEW datagrams to the SPA port are copied whole to NFLOG group = port
// (threshold 1: at once), rate-limited per source like knock LOG lines, then refused like a knock port.
const spa = (name: string, port = 62201): Door => makeSpaDoor({ name }, { port });
const options = { logPrefix: 'knocktail: ', logRateLimit: '20/second', inputPosition: 1 };

describe('SPA guard rules', () => {
  test('iptables: one NFLOG copy and one refusal per SPA port, however many doors share it', () => {
    const specs = buildGuardRuleSpecs([spa('a'), spa('b')], 4, options).filter((spec) => spec.includes('62201'));
    expect(specs).toEqual([
      [
        '-p',
        'udp',
        '--dport',
        '62201',
        '-m',
        'conntrack',
        '--ctstate',
        'NEW',
        '-m',
        'hashlimit',
        '--hashlimit-upto',
        '20/second',
        '--hashlimit-mode',
        'srcip',
        '--hashlimit-name',
        'knocktail4',
        '-j',
        'NFLOG',
        '--nflog-group',
        '62201',
        '--nflog-threshold',
        '1',
      ],
      ['-p', 'udp', '--dport', '62201', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'],
    ]);
  });

  test('nftables: log group = port with queue-threshold 1 for each family, then the refusal', () => {
    const rules = buildNftSetupStatements([spa('a'), spa('b', 62202)], {
      logPrefix: 'knocktail: ',
      logRateLimit: '20/second',
    }).filter((line) => /6220[12]/.test(line) && line.includes('guard'));
    expect(rules).toEqual([
      'add rule inet knocktail guard meta nfproto ipv4 udp dport 62201 ct state new update @knocklog-v4 { ip saddr limit rate 20/second } log group 62201 queue-threshold 1',
      'add rule inet knocktail guard meta nfproto ipv4 udp dport 62202 ct state new update @knocklog-v4 { ip saddr limit rate 20/second } log group 62202 queue-threshold 1',
      'add rule inet knocktail guard meta nfproto ipv6 udp dport 62201 ct state new update @knocklog-v6 { ip6 saddr limit rate 20/second } log group 62201 queue-threshold 1',
      'add rule inet knocktail guard meta nfproto ipv6 udp dport 62202 ct state new update @knocklog-v6 { ip6 saddr limit rate 20/second } log group 62202 queue-threshold 1',
      'add rule inet knocktail guard udp dport { 62201, 62202 } ct state new drop',
    ]);
  });
});
