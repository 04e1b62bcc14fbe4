// Where the guard's jump goes in INPUT when `firewall.inputPosition` is "auto": right after the
// last rule that belongs to a ban tool, so a grant never overrides another tool's ban (fail2ban,
// CrowdSec, sshguard); with none, first, ahead of ufw's chains. Pure, over `iptables -S INPUT`.

// Jumps into the chains ban tools make: fail2ban's iptables actions (f2b-JAIL, older fail2ban-JAIL),
// CrowdSec's firewall bouncer (CROWDSEC_CHAIN), sshguard.
const BAN_CHAIN = /^(f2b-|fail2ban-|crowdsec|sshguard)/i;

/** Whether an `-A INPUT …` line (as `iptables -S` prints it) is a ban tool's rule. */
export function isBanRule(line: string): boolean {
  const words = line.trim().split(/\s+/);
  const jump = words.findIndex((word) => word === '-j' || word === '-g');
  if (jump < 0) return false;
  const target = words[jump + 1] ?? '';
  if (BAN_CHAIN.test(target)) return true;
  // A bare ipset ban: `-m set --match-set NAME src -j DROP` (fail2ban's iptables-ipset actions, CrowdSec's ipset mode).
  const set = words.indexOf('--match-set');
  return set >= 0 && words[set + 2]?.split(',')[0] === 'src' && (target === 'DROP' || target === 'REJECT');
}

/** The 1-based position of the last ban rule among INPUT's `-A INPUT` lines, 0 when there is none. */
export function lastBanRule(inputRules: readonly string[]): number {
  let last = 0;
  inputRules.forEach((line, index) => {
    if (isBanRule(line)) last = index + 1;
  });
  return last;
}
