import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '../src/model/clock.js';
import { printkEpoch } from '../src/cli/wiring.js';
import { compose } from '../src/app/compose.js';
import { validateConfig } from '../src/config/load-config.js';
import { SimulatedFirewall } from '../src/firewall/simulated-firewall.js';
import { FakeSource } from './support/fake-source.js';
import { MemoryAudit } from './support/fakes.js';

// The live kmsg source places a record at printk's zero + its microseconds. printk's clock stops
// while the machine sleeps (as CLOCK_MONOTONIC does) and the wall clock does not, so that zero
// moves at every resume: the daemon asks for it per record instead of once at start.
const T0 = Date.parse('2026-11-24T12:00:00Z');

function record(seq: number, uptimeMs: number, src: string): string {
  return `4,${seq},${uptimeMs * 1000},-;knocktail: IN=eth0 OUT= MAC= SRC=${src} DST=198.51.100.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=7000 WINDOW=64240 RES=0x00 SYN URGP=0`;
}

describe("the kmsg source's clock", () => {
  test('printkEpoch is the wall clock less CLOCK_MONOTONIC (process.hrtime), not less os.uptime()', () => {
    const before = Date.now() - Number(process.hrtime.bigint() / 1_000_000n);
    const epoch = printkEpoch();
    const after = Date.now() - Number(process.hrtime.bigint() / 1_000_000n);
    expect(epoch).toBeGreaterThanOrEqual(Math.min(before, after) - 1);
    expect(epoch).toBeLessThanOrEqual(Math.max(before, after) + 1);
  });

  test('a record is placed on the boot time of the moment it is read: after a resume (the epoch moved) a knock is now, not an hour ago (stale)', async () => {
    const checked = validateConfig({
      firewall: { backend: 'iptables' },
      doors: [{ name: 'ssh', sequence: ['tcp:7000'], open: ['tcp:22'], openFor: '1h' }],
    });
    if (!checked.ok) throw new Error(checked.errors.join('\n'));
    const clock = new ManualClock(T0);
    const source = new FakeSource();
    const audit = new MemoryAudit();
    // Before the suspend printk's zero is T0 - 1000 s; an hour asleep moves it an hour on.
    let epoch = T0 - 1_000_000;
    const knocktail = compose(checked.config, {
      clock,
      runner: new SimulatedFirewall({ now: () => clock.now() }),
      audit,
      source,
      bootTime: () => epoch,
    });
    await knocktail.backend.setup(checked.config.doors);
    const abort = new AbortController();
    const running = knocktail.run(abort.signal);
    await source.push([record(1, 1_000_000, '203.0.113.9')]);
    clock.advanceTo(T0 + 3_600_000);
    epoch += 3_600_000;
    // Five ms of printk time later: with the boot time of the start, this knock would be an hour old.
    await source.push([record(2, 1_000_000 + 5, '203.0.113.10')]);
    await knocktail.engine.drain();
    expect(audit.records.filter((r) => r.event === 'open').map((r) => r.src)).toEqual(['203.0.113.9', '203.0.113.10']);
    abort.abort();
    await running;
    knocktail.stop();
  });
});
