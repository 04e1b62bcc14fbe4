// What a knockd start/stop command was recognised as: the ACCEPT (or ufw allow) it adds or
// deletes for the knocker, or why it is not one. Shared by the iptables and ufw readers.
export interface AcceptRule {
  /** -A/-I add the rule, -D deletes it. */
  readonly action: 'add' | 'delete';
  readonly tool: 'iptables' | 'ip6tables' | 'ufw';
  /** Undefined when the line has no -p (iptables then refuses --dport; knockd's own example does this), or for ufw without proto (tcp and udp). */
  readonly proto?: 'tcp' | 'udp';
  /** Empty when the rule accepts every port of the protocol. */
  readonly ports: readonly number[];
}

export type AcceptParse =
  { readonly ok: true; readonly rule: AcceptRule } | { readonly ok: false; readonly reason: string };
