// Grant latency per firewall backend: from open() called to the rule/element in place and a
// real TCP connect from the client namespace succeeding, with 0, 1,000 and 10,000 other grants
// already open (IPv6, so they share the chain or set the measured grant goes into). Everything
// runs inside throwaway network namespaces; every command pays `ip netns exec` (~1–2 ms) on top
// of what it costs on a real host.
import { performance } from 'node:perf_hooks';
import type { Door } from '../src/model/door.js';
import type { Grant } from '../src/model/grant.js';
import type { FirewallBackend } from '../src/firewall/backend.js';
import { ExecaRunner } from '../src/firewall/command-runner.js';
import { formatGrantComment } from '../src/firewall/grant-comment.js';
import { nftSetName } from '../src/firewall/nft-args.js';
import { selectBackend } from '../src/firewall/select-backend.js';
import { createRig, type Rig } from '../__tests__/system/support/netns.js';
import type { BenchFunction } from './section.js';

const DOOR: Door = {
  name: 'ssh',
  sequence: [{ proto: 'tcp', port: 7000 }],
  oneTimeSequences: [],
  timeout: 15_000,
  open: [{ proto: 'tcp', port: 22 }],
  openFor: 3_600_000,
  closeSequence: [],
  allowFrom: [],
};

const VARIANTS = [
  { label: 'iptables (iptables-restore session)', backend: 'iptables', sessions: true },
  { label: 'iptables (iptables-restore per change)', backend: 'iptables', sessions: false },
  { label: 'ipset (ipset - session)', backend: 'ipset', sessions: true },
  { label: 'ipset (process per change)', backend: 'ipset', sessions: false },
  { label: 'nftables (nft -i session)', backend: 'nftables', sessions: true },
  { label: 'nftables (nft -f per change)', backend: 'nftables', sessions: false },
] as const;

type Variant = (typeof VARIANTS)[number];

function preloadAddress(i: number): string {
  return `2001:db8:2::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
}

// Bulk-loads `count` grants in one command, the way a restart would find them, numbered from `from`.
async function preload(
  runner: ExecaRunner,
  variant: Variant,
  from: number,
  count: number,
  until: number,
): Promise<void> {
  if (count === 0) return;
  const indexes = Array.from({ length: count }, (_, k) => from + k);
  let argv: string[];
  let input: string;
  if (variant.backend === 'iptables') {
    const comment = formatGrantComment(DOOR.name, until);
    argv = ['ip6tables-restore', '-n'];
    input = `*filter\n${indexes.map((i) => `-A KNOCKTAIL -s ${preloadAddress(i)} -p tcp --dport 22 -m comment --comment "${comment}" -j ACCEPT`).join('\n')}\nCOMMIT\n`;
  } else if (variant.backend === 'ipset') {
    argv = ['ipset', 'restore', '-exist'];
    input = `${indexes.map((i) => `add knocktail-ssh-v6 ${preloadAddress(i)} timeout 3600`).join('\n')}\n`;
  } else {
    argv = ['nft', '-f', '-'];
    input = `add element inet knocktail ${nftSetName(DOOR.name, 6)} { ${indexes.map((i) => `${preloadAddress(i)} timeout 3600s`).join(', ')} }\n`;
  }
  const result = await runner.run(argv, { input });
  if (result.exitCode !== 0) throw new Error(`preload with ${argv.join(' ')} failed: ${result.stderr.trim()}`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

// Opens, waits for a successful connect, closes; `samples` times. Returns both latencies per sample.
async function measure(
  rig: Rig,
  backend: FirewallBackend,
  samples: number,
): Promise<{ open: number[]; ready: number[] }> {
  const open: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < samples; i++) {
    const grant: Grant = {
      door: DOOR.name,
      src: rig.clientV6,
      family: 6,
      ports: DOOR.open,
      openedAt: Date.now(),
      until: Date.now() + 3_600_000 + i,
    };
    const started = performance.now();
    await backend.open(grant);
    const opened = performance.now();
    let connected = false;
    for (let attempt = 0; attempt < 20 && !connected; attempt++)
      connected = await rig.connect(rig.client, rig.serverV6, 22, 250);
    const done = performance.now();
    if (!connected) throw new Error(`${backend.name}: no connect within 20 attempts after open()`);
    open.push(opened - started);
    ready.push(done - started);
    await backend.close(grant);
  }
  return { open: open.sort((a, b) => a - b), ready: ready.sort((a, b) => a - b) };
}

async function runVariant(
  variant: Variant,
  preloads: readonly number[],
  samples: number,
): Promise<Record<string, string | number>[]> {
  const rig = await createRig('ktfwbench');
  let backend: FirewallBackend | undefined;
  const rows: Record<string, string | number>[] = [];
  try {
    const runner = new ExecaRunner({ netns: rig.server });
    const config = {
      backend: variant.backend,
      inputPosition: 1,
      logRateLimit: '20/second',
      checkInterval: 60,
      retries: 0,
      logPrefix: 'ktfwbench: ',
    };
    backend = selectBackend(config, { runner, now: Date.now, sessions: variant.sessions });
    await backend.setup([DOOR]);
    const stop = await rig.listen(rig.server, 22);
    let loaded = 0;
    for (const target of preloads) {
      await preload(runner, variant, loaded, target - loaded, Date.now() + 3_600_000);
      loaded = target;
      const { open, ready } = await measure(rig, backend, samples);
      rows.push({
        backend: variant.label,
        'open grants': target,
        samples,
        'open() median ms': percentile(open, 50),
        'open() p95 ms': percentile(open, 95),
        'connect ok median ms': percentile(ready, 50),
        'connect ok p95 ms': percentile(ready, 95),
      });
    }
    await stop();
  } finally {
    await backend?.stop?.();
    await rig.destroy();
  }
  return rows;
}

export const bench: BenchFunction = async (options) => {
  const preloads = options.quick ? [0, 100, 1_000] : [0, 1_000, 10_000];
  const samples = options.quick ? 20 : 100;
  const rows: Record<string, string | number>[] = [];
  for (const variant of VARIANTS) rows.push(...(await runVariant(variant, preloads, samples)));
  return {
    name: 'firewall',
    rows,
    notes: [
      'open() = the backend call returning; connect ok = open() plus a TCP handshake from the client namespace succeeding (IPv6).',
      'Every command runs through `ip netns exec`, which a real host does not pay.',
      'iptables: one `*filter … COMMIT` transaction per change (the backend knows the chain from one listing, so a new grant is a bare -A) to a long-lived `iptables-restore --noflush -v` per family (the default), or one `iptables-restore` process per change; ipset and nftables: one line to a long-lived `ipset -` / `nft -i` session (the default), or one process per change.',
    ],
  };
};
