import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describeSystem } from './support/requirements.js';
import { createRig, runArgv } from './support/netns.js';
import type { Rig } from './support/netns.js';

describeSystem('the netns rig', ['ip', 'iptables', 'taskset'], () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await createRig('ktfwrig');
  });

  afterAll(async () => {
    await (rig as Rig | undefined)?.destroy(); // unset when beforeAll failed
  });

  test('a client connects to a server listener over IPv4 and IPv6', async () => {
    const stop = await rig.listen(rig.server, 2222);
    expect(await rig.connect(rig.client, rig.serverV4, 2222, 2000)).toBe(true);
    expect(await rig.connect(rig.client, rig.serverV6, 2222, 2000)).toBe(true);
    await stop();
    expect(await rig.connect(rig.client, rig.serverV4, 2222, 2000)).toBe(false);
  });

  test('a DROP rule in the server namespace makes the connect time out', async () => {
    const stop = await rig.listen(rig.server, 2223);
    await rig.exec(rig.server, ['iptables', '-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '2223', '-j', 'DROP']);
    const started = Date.now();
    expect(await rig.connect(rig.client, rig.serverV4, 2223, 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(5000);
    await rig.exec(rig.server, ['iptables', '-w', '-D', 'INPUT', '-p', 'tcp', '--dport', '2223', '-j', 'DROP']);
    await stop();
  });

  test('a held connection to an echo listener answers probes', async () => {
    const stop = await rig.listen(rig.server, 2224, 6, { echo: true });
    const held = await rig.hold(rig.client, rig.serverV6, 2224, 2000);
    expect(held).toBeDefined();
    expect(await held!.probe(1000)).toBe(true);
    await held!.close();
    await stop();
  });

  test('a rig made with cpus steers what the server receives to its CPU (RPS on its veth) and still connects', async () => {
    const pinned = await createRig('ktfwrig', { cpus: { server: 0, client: 0 } });
    try {
      const mask = await pinned.exec(pinned.server, ['cat', '/sys/class/net/ktfws/queues/rx-0/rps_cpus']);
      expect(Number.parseInt(mask.stdout.replace(/,/g, ''), 16)).toBe(1);
      const stop = await pinned.listen(pinned.server, 2225);
      expect(await pinned.connect(pinned.client, pinned.serverV4, 2225, 2000)).toBe(true);
      await stop();
    } finally {
      await pinned.destroy();
    }
  });

  test('destroy removes both namespaces and may be called twice', async () => {
    const extra = await createRig('ktfwrig');
    await extra.destroy();
    await extra.destroy();
    const list = await runArgv(['ip', 'netns', 'list']);
    expect(list.stdout).not.toContain(extra.server);
    expect(list.stdout).not.toContain(extra.client);
  });
});
