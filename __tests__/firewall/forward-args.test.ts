import { describe, expect, test } from '@jest/globals';
import { parseCidr } from '../../src/model/address.js';
import {
  buildForwardGrantSpec,
  buildForwardRestore,
  buildForwardRuleSpecs,
  buildForwardSetSpecs,
  buildForwardTeardownRestore,
  EMPTY_FORWARD_STATE,
  forwardGrantPosition,
  forwardInPlace,
} from '../../src/firewall/forward-args.js';
import type { ForwardGuard } from '../../src/firewall/forward-plan.js';
import { buildNftForwardStatements } from '../../src/firewall/nft-args.js';
import { makeDoor } from '../support/door.js';

const OPTIONS = { logPrefix: 'knocktail: ', logRateLimit: '20/second', inputPosition: 1 };
const WEB: ForwardGuard = { family: 4, proto: 'tcp', port: 8080, origins: ['docker'] };
const WEB6: ForwardGuard = { ...WEB, family: 6 };
const DOCKER = { dockerUser: true, chain: false, dockerUserJumps: 0, forwardJumps: 0 };

describe('the forward twin on iptables', () => {
  test('established flows, alwaysAllow and grants return; then NEW connections DNATed from the published port are refused', () => {
    const allow = { ...OPTIONS, alwaysAllow: [parseCidr('198.51.100.0/28')!, parseCidr('2001:db8::/64')!] };
    const grant = buildForwardGrantSpec(
      { door: 'web', src: '203.0.113.9', family: 4, until: null },
      { proto: 'tcp', port: 8080 },
    );
    expect(
      buildForwardRuleSpecs([WEB, WEB6, { ...WEB, port: 9000, addresses: ['198.51.100.1'] }], 4, allow, [grant]).map(
        (spec) => spec.join(' '),
      ),
    ).toEqual([
      '-m conntrack --ctstate ESTABLISHED,RELATED -j RETURN',
      '-s 198.51.100.0/28 -j RETURN',
      '-s 203.0.113.9 -p tcp -m conntrack --ctorigdstport 8080 -m comment --comment knocktail door=web until=never -j RETURN',
      '-p tcp -m conntrack --ctstate NEW -m conntrack --ctstate DNAT --ctorigdstport 8080 -j DROP',
      '-p tcp -m conntrack --ctstate NEW -m conntrack --ctstate DNAT --ctorigdstport 9000 --ctorigdst 198.51.100.1 -j DROP',
    ]);
    expect(forwardGrantPosition(allow, 4)).toBe(3);
    expect(forwardGrantPosition(OPTIONS, 6)).toBe(2);
  });

  test("the refusal is the INPUT guard's, from the same helper: reject answers like an unused port", () => {
    const specs = buildForwardRuleSpecs([WEB, { family: 6, proto: 'udp', port: 5353, origins: [] }], 6, {
      ...OPTIONS,
      refusal: 'reject',
    }).map((spec) => spec.join(' '));
    expect(specs.slice(1)).toEqual([
      '-p udp -m conntrack --ctstate NEW -m conntrack --ctstate DNAT --ctorigdstport 5353 -j REJECT --reject-with icmp6-port-unreachable',
    ]);
    const door = makeDoor({
      name: 'web',
      sequence: [{ proto: 'tcp', port: 7300 }],
      open: [{ proto: 'tcp', port: 8080 }],
      closeSequence: [],
    });
    expect(
      buildNftForwardStatements([door], [WEB], { logPrefix: 'p', logRateLimit: '1/second', refusal: 'reject' }).at(-1),
    ).toBe(
      'add rule inet knocktail forward ct state new meta nfproto ipv4 ct status dnat meta l4proto tcp ct original proto-dst 8080 reject with tcp reset',
    );
  });

  test("a bounded grant's twin carries the kernel-side expiry; the ipset twin matches the door's shared set", () => {
    expect(
      buildForwardGrantSpec(
        { door: 'web', src: '2001:db8::9', family: 6, until: 1_000_000 },
        { proto: 'udp', port: 5000 },
      ).join(' '),
    ).toBe(
      '-s 2001:db8::9 -p udp -m conntrack --ctorigdstport 5000 -m time --datestop 1970-01-01T00:16:39 -m comment --comment knocktail door=web until=1000000 -j RETURN',
    );
    expect(
      buildForwardSetSpecs('knocktail-web-v4', [{ proto: 'tcp', port: 8080 }]).map((spec) => spec.join(' ')),
    ).toEqual(['-p tcp -m set --match-set knocktail-web-v4 src -m conntrack --ctorigdstport 8080 -j RETURN']);
  });

  test('with Docker the jump goes first in DOCKER-USER, and a jump left in FORWARD moves there in the same COMMIT', () => {
    expect(buildForwardRestore([WEB], 4, OPTIONS, { ...DOCKER, forwardJumps: 1 })).toBe(
      [
        '*filter',
        ':KNOCKTAIL-FWD - [0:0]',
        '-A KNOCKTAIL-FWD -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN',
        '-A KNOCKTAIL-FWD -p tcp -m conntrack --ctstate NEW -m conntrack --ctstate DNAT --ctorigdstport 8080 -j DROP',
        '-I DOCKER-USER 1 -j KNOCKTAIL-FWD',
        '-D FORWARD -j KNOCKTAIL-FWD',
        'COMMIT',
        '',
      ].join('\n'),
    );
    expect(buildForwardRestore([WEB], 4, OPTIONS, { ...DOCKER, chain: true, dockerUserJumps: 1 })).not.toContain(
      'DOCKER-USER',
    );
  });

  test('without Docker the jump goes first in FORWARD; an existing one stays', () => {
    expect(buildForwardRestore([WEB], 4, OPTIONS, EMPTY_FORWARD_STATE)).toContain(
      '-I FORWARD 1 -j KNOCKTAIL-FWD\nCOMMIT',
    );
    expect(
      buildForwardRestore([WEB], 4, OPTIONS, {
        ...EMPTY_FORWARD_STATE,
        chain: true,
        forwardJumps: 1,
        forwardJumpFirst: true,
      }),
    ).not.toContain('-I FORWARD');
  });

  test('a jump that Docker pushed down FORWARD (its ACCEPTs re-inserted first) moves back to the top in one COMMIT', () => {
    const state = { ...EMPTY_FORWARD_STATE, chain: true, forwardJumps: 1, forwardJumpFirst: false };
    expect(forwardInPlace(state, true)).toBe(false);
    expect(buildForwardRestore([WEB], 4, OPTIONS, state)).toContain(
      '-D FORWARD -j KNOCKTAIL-FWD\n-I FORWARD 1 -j KNOCKTAIL-FWD\nCOMMIT',
    );
  });

  test('no guard in the family removes what is there, and nothing when nothing is', () => {
    expect(buildForwardRestore([WEB6], 4, OPTIONS, EMPTY_FORWARD_STATE)).toBeUndefined();
    expect(buildForwardRestore([], 4, OPTIONS, { ...DOCKER, chain: true, dockerUserJumps: 1, forwardJumps: 1 })).toBe(
      '*filter\n-D DOCKER-USER -j KNOCKTAIL-FWD\n-D FORWARD -j KNOCKTAIL-FWD\n-F KNOCKTAIL-FWD\n-X KNOCKTAIL-FWD\nCOMMIT\n',
    );
    expect(buildForwardTeardownRestore(EMPTY_FORWARD_STATE)).toBeUndefined();
  });

  test('the twin is in place when the chain exists and exactly the right chain jumps to it', () => {
    expect(forwardInPlace({ ...DOCKER, chain: true, dockerUserJumps: 1 }, true)).toBe(true);
    expect(forwardInPlace({ ...DOCKER, chain: true, forwardJumps: 1 }, true)).toBe(false);
    expect(forwardInPlace({ ...EMPTY_FORWARD_STATE, chain: true, forwardJumps: 1, forwardJumpFirst: true }, true)).toBe(
      true,
    );
    expect(forwardInPlace({ ...EMPTY_FORWARD_STATE, chain: true }, true)).toBe(false);
    expect(forwardInPlace(EMPTY_FORWARD_STATE, false)).toBe(true);
    expect(forwardInPlace({ ...EMPTY_FORWARD_STATE, chain: true }, false)).toBe(false);
  });
});

describe('the forward twin on nftables', () => {
  const door = makeDoor({
    name: 'web',
    sequence: [{ proto: 'tcp', port: 7300 }],
    open: [
      { proto: 'tcp', port: 8080 },
      { proto: 'tcp', port: 22 },
    ],
    closeSequence: [],
  });

  test("a forward-hook chain at priority filter: established flows, alwaysAllow, the door's set, then the refusal, by original destination", () => {
    const options = {
      logPrefix: 'knocktail: ',
      logRateLimit: '20/second',
      alwaysAllow: [parseCidr('198.51.100.0/28')!],
    };
    expect(buildNftForwardStatements([door], [WEB, { ...WEB6, addresses: ['2001:db8:1::1'] }], options)).toEqual([
      'add chain inet knocktail forward { type filter hook forward priority filter; policy accept; }',
      'flush chain inet knocktail forward',
      'add rule inet knocktail forward ct state established,related accept',
      'add rule inet knocktail forward meta nfproto ipv4 ct status dnat ip saddr { 198.51.100.0/28 } accept comment "knocktail alwaysAllow"',
      'add rule inet knocktail forward meta nfproto ipv4 ct status dnat meta l4proto tcp ct original proto-dst 8080 ip saddr @door-web-v4 accept comment "knocktail door=web"',
      'add rule inet knocktail forward meta nfproto ipv4 ct status dnat meta l4proto tcp ct original proto-dst 22 ip saddr @door-web-v4 accept comment "knocktail door=web"',
      'add rule inet knocktail forward ct state new meta nfproto ipv4 ct status dnat meta l4proto tcp ct original proto-dst 8080 drop',
      'add rule inet knocktail forward meta nfproto ipv6 ct status dnat meta l4proto tcp ct original proto-dst 8080 ip6 saddr @door-web-v6 accept comment "knocktail door=web"',
      'add rule inet knocktail forward meta nfproto ipv6 ct status dnat meta l4proto tcp ct original proto-dst 22 ip6 saddr @door-web-v6 accept comment "knocktail door=web"',
      'add rule inet knocktail forward ct state new meta nfproto ipv6 ct status dnat meta l4proto tcp ct original proto-dst 8080 ct original ip6 daddr { 2001:db8:1::1 } drop',
    ]);
  });

  test('no guard removes the chain (an absent one too) in the same batch', () => {
    expect(buildNftForwardStatements([door], [], { logPrefix: 'p', logRateLimit: '1/second' })).toEqual([
      'add chain inet knocktail forward',
      'flush chain inet knocktail forward',
      'delete chain inet knocktail forward',
    ]);
  });
});
