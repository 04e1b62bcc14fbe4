import { describe, expect, test } from '@jest/globals';
import { parseAcceptCommand, sameAccept } from '../../src/import/iptables-accept.js';

describe('parseAcceptCommand', () => {
  test.each([
    [
      '/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT',
      { action: 'add', tool: 'iptables', proto: 'tcp', ports: [22] },
    ],
    [
      'iptables -I INPUT 1 -s %IP% -p udp --dport 53 -j ACCEPT',
      { action: 'add', tool: 'iptables', proto: 'udp', ports: [53] },
    ],
    [
      '/usr/sbin/ip6tables -D INPUT -s %IP% -p tcp --dport 25 -j ACCEPT',
      { action: 'delete', tool: 'ip6tables', proto: 'tcp', ports: [25] },
    ],
    [
      'iptables --insert INPUT --source %IP%/32 --protocol tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW --jump ACCEPT',
      { action: 'add', tool: 'iptables', proto: 'tcp', ports: [80, 443] },
    ],
    [
      '/usr/sbin/iptables -A INPUT -s %IP% -p tcp --syn -j ACCEPT',
      { action: 'add', tool: 'iptables', proto: 'tcp', ports: [] },
    ],
    [
      'iptables -A INPUT -s %IP% -p tcp -m state --state NEW,ESTABLISHED --dport 22 -j ACCEPT',
      { action: 'add', tool: 'iptables', proto: 'tcp', ports: [22] },
    ],
    ['/sbin/iptables -A INPUT -s %IP% --dport 22 -j ACCEPT', { action: 'add', tool: 'iptables', ports: [22] }],
  ])('%s is a plain ACCEPT', (command, rule) => {
    expect(parseAcceptCommand(command)).toEqual({ ok: true, rule });
  });

  test.each([
    [
      '/usr/local/sbin/knock_add -i -c INPUT -p tcp -d 443 -f %IP%',
      'it runs `/usr/local/sbin/knock_add`, not iptables, ip6tables or ufw',
    ],
    [
      'iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT; logger opened',
      'it uses shell syntax (quotes, pipes, `;`, variables)',
    ],
    ['iptables -A FORWARD -s %IP% -p tcp --dport 22 -j ACCEPT', 'it changes the chain FORWARD, not INPUT'],
    ['iptables -A INPUT -s 198.51.100.0/24 -p tcp --dport 22 -j ACCEPT', 'its source is not `-s %IP%` (the knocker)'],
    ['iptables -A INPUT -s %IP% -p tcp --dport 22 -j DROP', 'its target is DROP, not ACCEPT'],
    [
      'iptables -A INPUT -s %IP% -i eth0 -p tcp --dport 22 -j ACCEPT',
      'the option `-i` is not part of a plain ACCEPT rule',
    ],
    [
      'iptables -A INPUT -s %IP% -p tcp --dport 6000:6010 -j ACCEPT',
      '`--dport 6000:6010` is not a port or a comma-separated list of ports (ranges cannot be converted)',
    ],
    [
      'iptables -A INPUT -s %IP% -p tcp -m recent --set -j ACCEPT',
      'the match `-m recent` changes what the rule accepts',
    ],
    [
      'iptables -A INPUT -s %IP% -p tcp -m state --state INVALID --dport 22 -j ACCEPT',
      '`--state INVALID` does not accept NEW connections only (with ESTABLISHED/RELATED at most)',
    ],
    ['iptables -s %IP% -p tcp --dport 22 -j ACCEPT', 'it neither adds (-A/-I) nor deletes (-D) a rule'],
  ])('%s is refused: %s', (command, reason) => {
    expect(parseAcceptCommand(command)).toEqual({ ok: false, reason });
  });
});

describe('parseAcceptCommand on ufw lines', () => {
  test.each([
    ['ufw allow from %IP% to any port 22', { action: 'add', tool: 'ufw', ports: [22] }],
    [
      '/usr/sbin/ufw insert 1 allow from %IP% to any port 22 proto tcp',
      { action: 'add', tool: 'ufw', proto: 'tcp', ports: [22] },
    ],
    [
      'ufw delete allow from %IP% to any port 22 proto tcp',
      { action: 'delete', tool: 'ufw', proto: 'tcp', ports: [22] },
    ],
    ['ufw allow proto udp from %IP% to any port 53', { action: 'add', tool: 'ufw', proto: 'udp', ports: [53] }],
  ])('%s is a plain allow', (command, rule) => {
    expect(parseAcceptCommand(command)).toEqual({ ok: true, rule });
  });

  test.each([
    ['ufw deny from %IP% to any port 22', 'it is not `ufw allow` or `ufw delete allow`'],
    ['ufw allow from 198.51.100.0/24 to any port 22', 'its source is not `from %IP%` (the knocker)'],
    ['ufw allow from %IP% to 192.0.2.1 port 22', 'it allows to 192.0.2.1, not to any (this host)'],
    [
      'ufw allow from %IP% to any port 6000:6010 proto tcp',
      '`port 6000:6010` is not part of a plain `ufw allow from %IP% to any port N`',
    ],
    ['ufw allow from %IP%', 'it allows to (nothing), not to any (this host)'],
  ])('%s is refused: %s', (command, reason) => {
    expect(parseAcceptCommand(command)).toEqual({ ok: false, reason });
  });
});

describe('sameAccept', () => {
  test('the -D of a rule undoes its -A; another port or tool does not', () => {
    const rule = (command: string) => {
      const parsed = parseAcceptCommand(command);
      if (!parsed.ok) throw new Error(parsed.reason);
      return parsed.rule;
    };
    const add = rule('iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT');
    expect(sameAccept(add, rule('/sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT'))).toBe(true);
    expect(sameAccept(add, rule('iptables -D INPUT -s %IP% -p tcp --dport 2222 -j ACCEPT'))).toBe(false);
    expect(sameAccept(add, rule('ip6tables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT'))).toBe(false);
  });
});
