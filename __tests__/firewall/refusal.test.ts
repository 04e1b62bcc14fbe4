import { describe, expect, test } from '@jest/globals';
import type { BlockingChain } from '../../src/firewall/host-firewall.js';
import { chooseRefusal, describeRefusal } from '../../src/firewall/refusal.js';

const ufw: BlockingChain = {
  kind: 'ufw',
  family: 'ip',
  table: 'filter',
  chain: 'INPUT',
  priority: 0,
  reason: 'policy drop',
};

describe('chooseRefusal', () => {
  test('"auto" drops behind a default-drop input chain, like the unused ports there', () => {
    expect(chooseRefusal('auto', [ufw])).toEqual({
      refusal: 'drop',
      reason: 'auto: ufw (table ip filter, chain INPUT, priority 0: policy drop) drops unused ports by default',
    });
  });

  test('"auto" (and no setting) rejects on a bare host, as the kernel answers an unused port', () => {
    expect(chooseRefusal('auto', []).refusal).toBe('reject');
    expect(chooseRefusal(undefined, []).refusal).toBe('reject');
  });

  test('"auto" with no look at the host takes the kernel default and says why', () => {
    expect(chooseRefusal('auto', undefined, 'host firewall not checked (no nft)')).toEqual({
      refusal: 'reject',
      reason:
        'auto: host firewall not checked (no nft); the kernel answers an unused port with a TCP reset or ICMP port unreachable',
    });
  });

  test('a fixed setting wins over what the host does', () => {
    expect(chooseRefusal('reject', [ufw])).toEqual({ refusal: 'reject', reason: 'firewall.refusal is "reject"' });
    expect(chooseRefusal('drop', [])).toEqual({ refusal: 'drop', reason: 'firewall.refusal is "drop"' });
  });

  test('the description names the answer per protocol', () => {
    expect(describeRefusal(chooseRefusal('reject', []))).toBe(
      'refusal: reject (TCP reset for tcp, ICMP/ICMPv6 port unreachable for udp), as for unused ports; firewall.refusal is "reject"',
    );
    expect(describeRefusal(chooseRefusal('drop', []))).toBe(
      'refusal: drop (silent), as for unused ports; firewall.refusal is "drop"',
    );
  });
});
