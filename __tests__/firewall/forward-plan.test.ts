import { describe, expect, test } from '@jest/globals';
import type { DnatRule } from '../../src/firewall/dnat-rules.js';
import { describeForwardPlan, guardsOf, planForward } from '../../src/firewall/forward-plan.js';

const web = { proto: 'tcp', port: 8080 } as const;
const ssh = { proto: 'tcp', port: 22 } as const;
const rule = (overrides: Partial<DnatRule>): DnatRule => ({
  family: 4,
  proto: 'tcp',
  ports: [[8080, 8080]],
  local: false,
  origin: 'iptables nat DOCKER: …',
  ...overrides,
});

describe('which protected ports DNAT publishes', () => {
  test('a DNAT of a protected port guards it in its family; other protected ports are left alone', () => {
    const plan = planForward([rule({}), rule({ family: 6, origin: 'v6' })], [ssh, web]);
    expect(plan.guards).toEqual([
      { family: 4, proto: 'tcp', port: 8080, origins: ['iptables nat DOCKER: …'] },
      { family: 6, proto: 'tcp', port: 8080, origins: ['v6'] },
    ]);
    expect(guardsOf(plan, 6)).toHaveLength(1);
    expect(plan.unguarded).toEqual([]);
  });

  test('addresses are collected while every publishing rule names one; one rule without an address means any', () => {
    expect(
      planForward([rule({ addresses: ['198.51.100.1'] }), rule({ addresses: ['198.51.100.7'], origin: 'b' })], [web])
        .guards[0]!.addresses,
    ).toEqual(['198.51.100.1', '198.51.100.7']);
    expect(
      planForward([rule({ addresses: ['198.51.100.1'] }), rule({ origin: 'b' })], [web]).guards[0]!.addresses,
    ).toBeUndefined();
  });

  test('another protocol, a port outside the rule, a negated list and a whole-address DNAT are told apart', () => {
    expect(planForward([rule({ proto: 'udp' })], [web]).guards).toEqual([]);
    expect(planForward([rule({ ports: [[9000, 9010]] })], [web]).guards).toEqual([]);
    expect(planForward([rule({ ports: [[8080, 8080]], negated: true })], [web]).guards).toEqual([]);
    expect(planForward([rule({ ports: [[53, 53]], negated: true })], [web]).guards).toHaveLength(1);
    const everything: DnatRule = {
      family: 4,
      local: false,
      origin: 'iptables nat PREROUTING: -j DNAT --to-destination 203.0.113.4',
    };
    expect(planForward([everything], [web, ssh]).guards.map((g) => g.port)).toEqual([8080, 22]);
  });

  test('a protected port redirected to the host itself cannot be guarded on the forward path', () => {
    const plan = planForward([rule({ local: true, origin: 'redirect' })], [web]);
    expect(plan).toEqual({ guards: [], unguarded: [{ proto: 'tcp', port: 8080, origin: 'redirect' }] });
  });

  test('the check-config lines name each published port, its rule and its guard', () => {
    const plan = planForward(
      [
        rule({ addresses: ['198.51.100.1'] }),
        rule({ local: true, origin: 'redirect', proto: 'tcp', ports: [[22, 22]] }),
      ],
      [web, ssh],
    );
    expect(describeForwardPlan(plan, 'iptables')).toEqual([
      "forward path: tcp:8080 (IPv4 on 198.51.100.1) is published by DNAT (iptables nat DOCKER: …); guarded by chain KNOCKTAIL-FWD (jumped from DOCKER-USER when it exists, else first in FORWARD), matching conntrack's original destination",
      'forward path: tcp:22 is redirected to this host (redirect): knocktail cannot guard it; setup refuses',
    ]);
    expect(describeForwardPlan({ guards: [], unguarded: [] }, 'nftables')).toEqual([
      'forward path: no protected port is published by DNAT',
    ]);
    expect(
      describeForwardPlan(
        { guards: [], unguarded: [], unread: ['`iptables -w -t nat -S`: Permission denied (you must be root)'] },
        'nftables',
      ),
    ).toEqual([
      'forward path: no protected port is published by DNAT (not read: `iptables -w -t nat -S`: Permission denied (you must be root))',
    ]);
  });
});
