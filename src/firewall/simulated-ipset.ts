import type { CommandResult } from './backend.js';

// What ipset would answer, for the simulated firewall: sets of members with timeouts that
// run out on the injected clock, the real tool's messages (an unknown set type is a syntax
// error naming the type, which is what an `ipset -` session's marker relies on).
const VERSION = 'ipset v7.19';

interface SimSet {
  readonly type: string;
  readonly family: string;
  /** Member → deadline (epoch ms), or 0 for no timeout. */
  readonly members: Map<string, number>;
}

const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' });
const fail = (message: string): CommandResult => ({ exitCode: 1, stdout: '', stderr: `${VERSION}: ${message}\n` });

export class SimulatedIpset {
  private readonly sets = new Map<string, SimSet>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Runs one ipset command given as words (without the `ipset` binary). */
  run(words: readonly string[]): CommandResult {
    const exist = words.includes('-exist') || words.includes('-!');
    const [op, name, ...rest] = words.filter((word) => word !== '-exist' && word !== '-!');
    if (op === 'save') return ok(this.save());
    if (op === 'list' && name === '-n') return ok([...this.sets.keys()].map((set) => `${set}\n`).join(''));
    if (name === undefined) return fail(`Syntax error: command ${op ?? ''} needs a set name`);
    const set = this.sets.get(name);
    switch (op) {
      case 'create': {
        const type = rest[0] ?? '';
        if (!/^(hash|bitmap|list):/.test(type)) return fail(`Syntax error: typename '${type}' is unknown`);
        if (set) return exist ? ok() : fail('Set cannot be created: set with the same name already exists');
        const family = rest[rest.indexOf('family') + 1] ?? 'inet';
        this.sets.set(name, { type, family: rest.includes('family') ? family : 'inet', members: new Map() });
        return ok();
      }
      case 'destroy':
        if (!set) return fail('The set with the given name does not exist');
        this.sets.delete(name);
        return ok();
      case 'add': {
        if (!set) return fail('The set with the given name does not exist');
        const member = rest[0] ?? '';
        if (this.live(set, member) && !exist) return fail("Element cannot be added to the set: it's already added");
        const at = rest.indexOf('timeout');
        const seconds = at === -1 ? 0 : Number(rest[at + 1]);
        set.members.set(member, seconds > 0 ? this.now() + seconds * 1000 : 0);
        return ok();
      }
      case 'del': {
        if (!set) return fail('The set with the given name does not exist');
        const member = rest[0] ?? '';
        if (!this.live(set, member))
          return exist ? ok() : fail("Element cannot be deleted from the set: it's not added");
        set.members.delete(member);
        return ok();
      }
      default:
        return fail(`Syntax error: unknown command ${op ?? ''}`);
    }
  }

  private live(set: SimSet, member: string): boolean {
    const deadline = set.members.get(member);
    if (deadline === undefined) return false;
    if (deadline !== 0 && deadline <= this.now()) {
      set.members.delete(member);
      return false;
    }
    return true;
  }

  private save(): string {
    const lines: string[] = [];
    for (const [name, set] of this.sets) {
      lines.push(`create ${name} ${set.type} family ${set.family} hashsize 1024 maxelem 65536 timeout 0`);
      for (const member of [...set.members.keys()]) {
        if (!this.live(set, member)) continue;
        const deadline = set.members.get(member)!;
        lines.push(`add ${name} ${member} timeout ${deadline === 0 ? 0 : Math.ceil((deadline - this.now()) / 1000)}`);
      }
    }
    return lines.map((line) => `${line}\n`).join('');
  }
}
