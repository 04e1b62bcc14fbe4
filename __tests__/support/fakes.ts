import type { AuditRecord, AuditSink } from '../../src/audit/record.js';
import type { FirewallBackend } from '../../src/firewall/backend.js';
import type { Grant } from '../../src/model/grant.js';

// Runs `body` at once, as an async function's body would, so a throw becomes a rejection.
function settle<T>(body: () => T): Promise<T> {
  return new Promise((resolve) => {
    resolve(body());
  });
}

// Fakes at the seams, shared by unit tests: a backend that records calls and can be
// told to fail, and an audit sink that keeps records in memory.
export class FakeBackend implements FirewallBackend {
  readonly name = 'fake';
  readonly calls: string[] = [];
  readonly held = new Map<string, Grant>();
  /** Fail the next N calls of this kind. */
  failures: Record<'open' | 'close' | 'list', number> = { open: 0, close: 0, list: 0 };
  /** Shared timeline with the audit sink, to check intent-before-change ordering. */
  constructor(private readonly timeline: string[] = []) {}

  open(grant: Grant): Promise<void> {
    return settle(() => {
      this.step('open', grant);
      this.held.set(`${grant.door}/${grant.src}`, grant);
    });
  }

  close(grant: Grant): Promise<void> {
    return settle(() => {
      this.step('close', grant);
      this.held.delete(`${grant.door}/${grant.src}`);
    });
  }

  list(): Promise<Grant[]> {
    return settle(() => {
      if (this.failures.list > 0) {
        this.failures.list -= 1;
        throw new Error('list failed');
      }
      return [...this.held.values()];
    });
  }

  async setup(): Promise<void> {}
  async teardown(): Promise<void> {}
  describeSetup(): string[][] {
    return [];
  }

  private step(kind: 'open' | 'close', grant: Grant): void {
    const entry = `${kind} ${grant.door} ${grant.src}`;
    this.calls.push(entry);
    this.timeline.push(`firewall ${entry}`);
    if (this.failures[kind] > 0) {
      this.failures[kind] -= 1;
      throw Object.assign(new Error(`${kind} failed`), { command: ['iptables', '-w', kind] });
    }
  }
}

export class MemoryAudit implements AuditSink {
  readonly records: AuditRecord[] = [];
  constructor(private readonly timeline: string[] = []) {}

  write(record: AuditRecord): Promise<void> {
    this.records.push(record);
    this.timeline.push(`audit ${record.event} ${record.door} ${record.src}`);
    return Promise.resolve();
  }

  async close(): Promise<void> {}
}
