import { describe, expect, test } from '@jest/globals';
import { checkConfigWarnings } from '../../src/config/config-warnings.js';
import { validateConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/types.js';

// check-config's advice on configs that load but weaken the guard, read from the loaded config.
function load(raw: Record<string, unknown>): Config {
  const checked = validateConfig({ logFile: '/tmp/k.log', stateDir: '/tmp/s', auditLog: '/tmp/a.log', ...raw });
  if (!checked.ok) throw new Error(checked.errors.join('\n'));
  return checked.config;
}

const door = { name: 'ssh', sequence: ['tcp:7000', 'udp:8000', 'tcp:9000'], open: ['tcp:22'] };

describe('checkConfigWarnings', () => {
  test('a plain multi-step door on high ports and a narrow alwaysAllow get no warning', () => {
    expect(
      checkConfigWarnings(
        load({ doors: [door], limits: { alwaysAllow: ['198.51.100.0/24', '203.0.113.7', '2001:db8:1::/48'] } }),
      ),
    ).toEqual([]);
  });

  test('alwaysAllow wider than a /16 (IPv4) or a /48 (IPv6) is named, the whole address space most plainly', () => {
    expect(
      checkConfigWarnings(
        load({
          doors: [door],
          limits: { alwaysAllow: ['0.0.0.0/0', '10.0.0.0/8', '172.16.0.0/16', '2001:db8::/32', '::/0'] },
        }),
      ),
    ).toEqual([
      'limits.alwaysAllow[0]: 0.0.0.0/0 is every IPv4 address; the guard lets these sources reach the protected ports without a knock, so for them knocktail is off (list your own networks, each a /16 or narrower)',
      expect.stringMatching(/^limits\.alwaysAllow\[1\]: 10\.0\.0\.0\/8 is more than a \/16;/),
      expect.stringMatching(/^limits\.alwaysAllow\[3\]: 2001:db8::\/32 is more than a \/48;/),
      expect.stringMatching(/^limits\.alwaysAllow\[4\]: ::\/0 is every IPv6 address;/),
    ]);
  });

  test('a step repeated in a sequence is named at its second place; twice in a row also warns of the retransmit rule', () => {
    const warnings = checkConfigWarnings(
      load({ doors: [{ ...door, sequence: ['tcp:7000', 'tcp:7000', 'udp:8000', 'tcp:7000'] }] }),
    );
    expect(warnings).toEqual([
      'doors[0].sequence[1]: tcp:7000 is also step 1; a repeated step adds nothing a scanner has to guess, and a second SYN to the same port within seconds can be taken for a retransmit (use another port)',
      'doors[0].sequence[3]: tcp:7000 is also step 1; a repeated step adds nothing a scanner has to guess (use another port)',
    ]);
  });

  test('a well-known service port as a knock port is named, most strongly as a single knock', () => {
    const warnings = checkConfigWarnings(
      load({
        doors: [
          { ...door, sequence: ['udp:53'] },
          { ...door, name: 'web', sequence: ['tcp:7000', 'tcp:443'], closeSequence: ['udp:123'] },
        ],
      }),
    );
    expect(warnings).toEqual([
      'doors[0].sequence[0]: udp:53 is a well-known service port (DNS); every scan and stray packet to it opens the door (pick an unremarkable high port)',
      'doors[1].sequence[1]: tcp:443 is a well-known service port (HTTPS); scanners and stray traffic hit it all day, so it tells a knock from noise poorly (pick an unremarkable high port)',
      'doors[1].closeSequence[0]: udp:123 is a well-known service port (NTP); scanners and stray traffic hit it all day, so it tells a knock from noise poorly (pick an unremarkable high port)',
    ]);
  });
});

describe('config problems suggest what was meant', () => {
  const problems = (raw: Record<string, unknown>): string[] => {
    const checked = validateConfig({ logFile: '/tmp/k.log', stateDir: '/tmp/s', auditLog: '/tmp/a.log', ...raw });
    return checked.ok ? [] : checked.errors;
  };

  test('durations in words or with long units name the valid form', () => {
    expect(
      problems({ doors: [{ ...door, openFor: '1 hour', timeout: '90min' }], limits: { banFor: '2 weeks' } }),
    ).toEqual(
      expect.arrayContaining([
        'doors[0].openFor: expected a duration like "30s" (units ms, s, m, h, d) or "until-closed", got `"1 hour"` (string); did you mean "1h"?',
        'doors[0].timeout: expected a duration like "30s" (units ms, s, m, h, d), got `"90min"` (string); did you mean "90m"?',
        expect.stringMatching(
          /^limits\.banFor: expected a duration .*got `"2 weeks"` \(string\); did you mean "14d"\?$/,
        ),
      ]),
    );
  });

  test("knockd's port:proto step, a bare port and a slash get the knocktail spelling; nonsense gets no guess", () => {
    expect(problems({ doors: [{ ...door, sequence: ['7000:tcp', '8000/udp', '9000', 'knock'] }] })).toEqual([
      'doors[0].sequence[0]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"7000:tcp"` (string); did you mean "tcp:7000"?',
      'doors[0].sequence[1]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"8000/udp"` (string); did you mean "udp:8000"?',
      'doors[0].sequence[2]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"9000"` (string); did you mean "tcp:9000"?',
      'doors[0].sequence[3]: expected a knock step like "tcp:7000", "udp:8000" or "icmp" (a port 1-65535), got `"knock"` (string)',
    ]);
  });
});
