import type { AcceptParse } from './accept-rule.js';

// The ufw lines knockd guides use instead of iptables: `ufw allow from %IP% to any port 22
// [proto tcp]`, `ufw insert 1 allow …`, and `ufw delete allow …` to close again. Without
// `proto`, ufw opens the port for tcp and udp alike.
function fail(reason: string): AcceptParse {
  return { ok: false, reason };
}

export function parseUfwAllow(tokens: readonly string[]): AcceptParse {
  const words = [...tokens.slice(1)];
  let action: 'add' | 'delete' = 'add';
  if (words[0] === 'delete') {
    action = 'delete';
    words.shift();
  } else if (words[0] === 'insert' && /^\d+$/.test(words[1] ?? '')) {
    words.splice(0, 2);
  }
  if (words.shift() !== 'allow') return fail('it is not `ufw allow` or `ufw delete allow`');
  let proto: 'tcp' | 'udp' | undefined;
  let source: string | undefined;
  let port: number | undefined;
  let destination: string | undefined;
  while (words.length > 0) {
    const word = words.shift()!;
    const value = words.shift();
    if (word === 'from') source = value;
    else if (word === 'to') destination = value;
    else if (
      word === 'port' &&
      value !== undefined &&
      /^\d{1,5}$/.test(value) &&
      Number(value) >= 1 &&
      Number(value) <= 65535
    )
      port = Number(value);
    else if (word === 'proto' && (value === 'tcp' || value === 'udp')) proto = value;
    else return fail(`\`${word} ${value ?? ''}\` is not part of a plain \`ufw allow from %IP% to any port N\``);
  }
  if (source !== '%IP%') return fail('its source is not `from %IP%` (the knocker)');
  if (destination !== 'any') return fail(`it allows to ${destination ?? '(nothing)'}, not to any (this host)`);
  if (port === undefined) return fail('it names no port');
  return { ok: true, rule: { action, tool: 'ufw', ...(proto ? { proto } : {}), ports: [port] } };
}
