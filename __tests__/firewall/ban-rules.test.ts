import { describe, expect, test } from '@jest/globals';
import { isBanRule, lastBanRule } from '../../src/firewall/ban-rules.js';

describe('ban rules in INPUT', () => {
  test("fail2ban's, CrowdSec's and sshguard's jumps are ban rules", () => {
    expect(isBanRule('-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd')).toBe(true);
    expect(isBanRule('-A INPUT -p tcp -j fail2ban-ssh')).toBe(true);
    expect(isBanRule('-A INPUT -j CROWDSEC_CHAIN')).toBe(true);
    expect(isBanRule('-A INPUT -j sshguard')).toBe(true);
  });

  test('an ipset source match that drops or rejects is a ban rule; one that accepts is not', () => {
    expect(
      isBanRule(
        '-A INPUT -p tcp -m multiport --dports 22 -m set --match-set f2b-sshd src -j REJECT --reject-with icmp-port-unreachable',
      ),
    ).toBe(true);
    expect(isBanRule('-A INPUT -m set --match-set crowdsec-blacklists src -j DROP')).toBe(true);
    expect(isBanRule('-A INPUT -m set --match-set trusted src -j ACCEPT')).toBe(false);
    expect(isBanRule('-A INPUT -m set --match-set blocked dst -j DROP')).toBe(false);
  });

  test("ufw's chains, knocktail's own jump and plain rules are not", () => {
    expect(isBanRule('-A INPUT -j ufw-before-logging-input')).toBe(false);
    expect(isBanRule('-A INPUT -j KNOCKTAIL-GUARD')).toBe(false);
    expect(isBanRule('-A INPUT -p tcp --dport 25 -j DROP')).toBe(false);
    expect(isBanRule('-A INPUT -i lo')).toBe(false);
  });

  test('the position of the last ban rule, 1-based, 0 when there is none', () => {
    const input = [
      '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd',
      '-A INPUT -j KNOCKTAIL-GUARD',
      '-A INPUT -p tcp -j f2b-recidive',
      '-A INPUT -j ufw-before-input',
    ];
    expect(lastBanRule(input)).toBe(3);
    expect(lastBanRule(['-A INPUT -j ufw-before-input'])).toBe(0);
    expect(lastBanRule([])).toBe(0);
  });
});
