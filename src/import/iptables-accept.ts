import type { AcceptParse, AcceptRule } from './accept-rule.js';
import { parseUfwAllow } from './ufw-allow.js';

export type { AcceptParse, AcceptRule } from './accept-rule.js';

// Recognises the iptables lines knockd configs use to open and close a port for the
// knocker (`/sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT`, `-I`, `-D`; and
// ufw's `allow from %IP% to any port 22`). Anything else is a custom command: knocktail
// opens ports itself, so it cannot run one.

const SHELL_SYNTAX = /[;&|`$<>()'"\\*?]/;
const HARMLESS_MATCHES = new Set(['tcp', 'udp', 'state', 'conntrack', 'multiport', 'comment']);

function fail(reason: string): AcceptParse {
  return { ok: false, reason };
}

function parsePorts(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const ports = text.split(',').map(Number);
  return ports.every((port, i) => /^\d{1,5}$/.test(text.split(',')[i]!) && port >= 1 && port <= 65535)
    ? ports
    : undefined;
}

function isNewState(value: string | undefined): boolean {
  const states = (value ?? '').split(',');
  return (
    states.includes('NEW') && states.every((state) => state === 'NEW' || state === 'ESTABLISHED' || state === 'RELATED')
  );
}

interface Draft {
  action?: AcceptRule['action'];
  chain?: string;
  source?: string;
  proto?: string;
  ports?: number[];
  target?: string;
}

// One option of the line; returns how many tokens it took, or a reason it is not ours.
function takeOption(tokens: readonly string[], i: number, draft: Draft): number | string {
  const option = tokens[i]!;
  const value = tokens[i + 1];
  switch (option) {
    case '-A':
    case '--append':
    case '-D':
    case '--delete':
      draft.action = option === '-D' || option === '--delete' ? 'delete' : 'add';
      draft.chain = value;
      return 2;
    case '-I':
    case '--insert':
      draft.action = 'add';
      draft.chain = value;
      return tokens[i + 2] !== undefined && /^\d+$/.test(tokens[i + 2]!) ? 3 : 2;
    case '-s':
    case '--source':
      draft.source = value;
      return 2;
    case '-p':
    case '--protocol':
      draft.proto = value?.toLowerCase();
      return 2;
    case '--dport':
    case '--destination-port':
    case '--dports':
    case '--destination-ports': {
      const ports = parsePorts(value);
      if (!ports)
        return `\`${option} ${value ?? ''}\` is not a port or a comma-separated list of ports (ranges cannot be converted)`;
      if (ports.length > 1 && !option.endsWith('s'))
        return `\`${option} ${value}\` lists several ports without -m multiport`;
      draft.ports = ports;
      return 2;
    }
    case '-j':
    case '--jump':
      draft.target = value;
      return 2;
    case '-m':
    case '--match':
      return value !== undefined && HARMLESS_MATCHES.has(value)
        ? 2
        : `the match \`-m ${value ?? ''}\` changes what the rule accepts`;
    case '--state':
    case '--ctstate':
      // NEW, alone or with ESTABLISHED/RELATED: what the door lets in is still the new connection.
      return isNewState(value)
        ? 2
        : `\`${option} ${value ?? ''}\` does not accept NEW connections only (with ESTABLISHED/RELATED at most)`;
    case '--comment':
      return 2;
    case '--syn':
      return 1;
    case '-w':
    case '--wait':
      return value !== undefined && /^\d+$/.test(value) ? 2 : 1;
    default:
      return `the option \`${option}\` is not part of a plain ACCEPT rule`;
  }
}

export function parseAcceptCommand(command: string): AcceptParse {
  if (SHELL_SYNTAX.test(command)) return fail('it uses shell syntax (quotes, pipes, `;`, variables)');
  const tokens = command.trim().split(/\s+/);
  const tool = tokens[0]?.split('/').at(-1);
  if (tool === 'ufw') return parseUfwAllow(tokens);
  if (tool !== 'iptables' && tool !== 'ip6tables')
    return fail(`it runs \`${tokens[0] ?? ''}\`, not iptables, ip6tables or ufw`);
  const draft: Draft = {};
  for (let i = 1; i < tokens.length;) {
    const taken = takeOption(tokens, i, draft);
    if (typeof taken === 'string') return fail(taken);
    i += taken;
  }
  if (!draft.action) return fail('it neither adds (-A/-I) nor deletes (-D) a rule');
  if (draft.chain !== 'INPUT') return fail(`it changes the chain ${draft.chain ?? '(none)'}, not INPUT`);
  if (draft.source !== '%IP%' && draft.source !== '%IP%/32' && draft.source !== '%IP%/128')
    return fail('its source is not `-s %IP%` (the knocker)');
  if (draft.target !== 'ACCEPT') return fail(`its target is ${draft.target ?? '(none)'}, not ACCEPT`);
  if (draft.proto !== undefined && draft.proto !== 'tcp' && draft.proto !== 'udp')
    return fail(`its protocol ${draft.proto} is neither tcp nor udp`);
  return {
    ok: true,
    rule: { action: draft.action, tool, ...(draft.proto ? { proto: draft.proto } : {}), ports: draft.ports ?? [] },
  };
}

/** Whether `b` undoes `a` (or the other way round): the same ports through the same tool. */
export function sameAccept(a: AcceptRule, b: AcceptRule): boolean {
  return a.tool === b.tool && a.proto === b.proto && a.ports.join(',') === b.ports.join(',');
}
