import type { CommandResult } from './backend.js';

// What nft would answer for table `inet knocktail`, for the simulated firewall: the table,
// its sets with element timeouts on the injected clock, and the `grants` chain's set→port
// rules, enough for `nft -j list table inet knocktail` to read grants back. A statement it
// does not know is a syntax error, as in nft (an `nft -i` session's marker relies on that).
const TABLE = 'inet knocktail';
const VERBS = /^(add|delete|flush|create|destroy|insert|replace|reset|list|table)\b/;
const ELEMENT = /^(add|delete) element inet knocktail (\S+) \{ (\S+)(?: timeout (\d+)ms)? \}$/;
const GRANT_RULE = /^add rule inet knocktail grants ip6? saddr @(\S+) (tcp|udp) dport (\d+) accept/;
// The fixed statements, made once (replay runs a few statements per grant change).
const ADD_TABLE = `add table ${TABLE}`;
const DELETE_TABLE = `delete table ${TABLE}`;
const FLUSH_GRANTS = `flush chain ${TABLE} grants`;
const ADD_SET = `add set ${TABLE} `;

const ok = (): CommandResult => ({ exitCode: 0, stdout: '', stderr: '' });

export class SimulatedNft {
  private table = false;
  private readonly sets = new Map<string, Map<string, number>>();
  private readonly ports: { set: string; proto: string; port: number }[] = [];
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Runs statements as one batch (a `nft -f -` input, or one `nft -i` line). */
  batch(statements: readonly string[]): CommandResult {
    for (const text of statements) {
      const statement = text.trim();
      if (statement === '') continue;
      if (!VERBS.test(statement))
        return {
          exitCode: 1,
          stdout: '',
          stderr: `Error: syntax error, unexpected string\n${statement}\n${'^'.repeat(statement.length)}\n`,
        };
      this.apply(statement);
    }
    return ok();
  }

  /** `nft -j [-t] list table inet knocktail` (terse: sets without elements), `nft -j -t list sets inet`, or `nft -j list set inet knocktail NAME`. */
  list(options: { terse?: boolean; set?: string; setsOnly?: boolean } = {}): CommandResult {
    if (!this.table || (options.set !== undefined && !this.sets.has(options.set)))
      return { exitCode: 1, stdout: '', stderr: 'Error: No such file or directory\nlist table inet knocktail\n' };
    const now = this.now();
    const objects: unknown[] = [{ metainfo: { json_schema_version: 1 } }];
    if (options.set === undefined && !options.setsOnly) objects.push({ table: { family: 'inet', name: 'knocktail' } });
    for (const [name, elements] of this.sets) {
      if (options.set !== undefined && name !== options.set) continue;
      const elem = [...elements]
        .filter(([, deadline]) => deadline === 0 || deadline > now)
        .map(([val, deadline]) =>
          deadline === 0 ? val : { elem: { val, expires: Math.ceil((deadline - now) / 1000) } },
        );
      objects.push({ set: { family: 'inet', name, table: 'knocktail', ...(options.terse ? {} : { elem }) } });
    }
    if (options.set !== undefined || options.setsOnly)
      return { exitCode: 0, stdout: JSON.stringify({ nftables: objects }), stderr: '' };
    for (const { set, proto, port } of this.ports) {
      const expr = [
        { match: { left: { payload: { field: 'saddr' } }, right: `@${set}` } },
        { match: { left: { payload: { protocol: proto, field: 'dport' } }, right: port } },
      ];
      objects.push({ rule: { family: 'inet', table: 'knocktail', chain: 'grants', expr } });
    }
    return { exitCode: 0, stdout: JSON.stringify({ nftables: objects }), stderr: '' };
  }

  private apply(statement: string): void {
    if (statement === ADD_TABLE) this.table = true;
    else if (statement === DELETE_TABLE) {
      this.table = false;
      this.sets.clear();
      this.ports.length = 0;
    } else if (statement === FLUSH_GRANTS) this.ports.length = 0;
    else if (statement.startsWith(ADD_SET)) {
      const name = statement.split(' ')[4]!;
      if (!this.sets.has(name)) this.sets.set(name, new Map());
    } else {
      const element = ELEMENT.exec(statement);
      if (element) {
        const members = this.sets.get(element[2]!);
        if (element[1] === 'delete') members?.delete(element[3]!);
        else if (!members?.has(element[3]!))
          members?.set(element[3]!, element[4] === undefined ? 0 : this.now() + Number(element[4]));
        return;
      }
      const rule = GRANT_RULE.exec(statement);
      if (rule) this.ports.push({ set: rule[1]!, proto: rule[2]!, port: Number(rule[3]) });
    }
  }
}
