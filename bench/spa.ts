// `npm run bench -- --only spa`: single packet authorization. Live: SPA packet sent → first
// SYN to 22 let through, on nftables and ipset, in the namespace rig with the real daemon
// (NFLOG → tcpdump → daemon → firewall). In process: packets verified per second on one core,
// valid ones (HMAC, decryption, digest, request, replay cache) and garbage (refused at the HMAC).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normaliseAddress, type Address } from '../src/model/address.js';
import { ReplayCache } from '../src/spa/replay-cache.js';
import { SpaHandler, spaDoorsByPort, type SpaGrantPort } from '../src/spa/spa-handler.js';
import { sealSpaPacket } from '../src/spa/spa-packet.js';
import { decodeSpaKeys } from '../src/spa/spa-keys.js';
import type { Door } from '../src/model/door.js';
import { createLiveRig } from '../__tests__/system/support/live-rig.js';
import { createRig } from '../__tests__/system/support/netns.js';
import { addMedianRatio, type BenchFunction } from './section.js';

const PORT = 62201;
const KEY = randomBytes(32).toString('base64');
const HMAC_KEY = randomBytes(64).toString('base64');
const keys = decodeSpaKeys(KEY, HMAC_KEY);

function seal(address: string, timestamp = Math.floor(Date.now() / 1000)): Buffer {
  const random = String(Math.floor(Math.random() * 9e15) + 1e15);
  return sealSpaPacket(
    { random, user: 'bench', timestamp, version: '3.0.0', type: 1, message: `${address},tcp/22` },
    keys,
  );
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

// In the client namespace: send the packet, then a new connect to 22 every 1 ms until one completes; prints ms from send to the winning connect's start.
const RACE = `
const dgram=require('dgram'),net=require('net');const [,payload,host]=process.argv;
const s=dgram.createSocket('udp4');const t0=process.hrtime.bigint();let done=false,n=0;
s.send(Buffer.from(payload,'base64'),${PORT},host,()=>s.close());
const tick=setInterval(()=>{if(done||n++>3000)return;const start=process.hrtime.bigint();const c=net.connect({host,port:22});
c.setTimeout(200,()=>c.destroy());c.on('error',()=>{});c.on('connect',()=>{if(done)return c.destroy();done=true;clearInterval(tick);
console.log(Number(start-t0)/1e6);c.destroy();process.exit(0)})},1);setTimeout(()=>{console.log('NaN');process.exit(1)},4000);`;

async function measureLive(backend: 'nftables' | 'ipset', trials: number): Promise<Record<string, string | number>> {
  const dir = await mkdtemp(join(tmpdir(), 'kt-spa-bench-'));
  await writeFile(join(dir, 'spa.key'), KEY, { mode: 0o600 });
  await writeFile(join(dir, 'spa-hmac.key'), HMAC_KEY, { mode: 0o600 });
  const live = await createLiveRig({
    backend,
    doors: [
      {
        name: 'spa',
        spa: { port: PORT, keyFile: join(dir, 'spa.key'), hmacKeyFile: join(dir, 'spa-hmac.key') },
        open: ['tcp:22'],
        openFor: '1h',
      },
    ],
  });
  try {
    await live.startDaemon();
    const { rig } = live;
    const times: number[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      const result = await rig.exec(rig.client, [
        'node',
        '-e',
        RACE,
        seal(rig.clientV4).toString('base64'),
        rig.serverV4,
      ]);
      times.push(Number(result.stdout.trim()));
      await live.cli(['revoke', rig.clientV4, '--config', live.configPath]);
      await live.waitClosed(rig.serverV4, 22, 3000);
    }
    const opened = times.filter(Number.isFinite).sort((a, b) => a - b);
    return {
      backend,
      trials,
      opened: opened.length,
      'median ms': Number(quantile(opened, 0.5).toFixed(2)),
      'p95 ms': Number(quantile(opened, 0.95).toFixed(2)),
    };
  } finally {
    await live.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

// Debian's fwknopd 2.6.10 in UDP-server mode in the same rig shape: its own config, run dir and
// digest cache, 22 refused by a plain REJECT after fwknopd's FWKNOP_INPUT jump; stopped by PID.
async function measureFwknopd(trials: number): Promise<Record<string, string | number> | undefined> {
  if (spawnSync('sh', ['-c', 'command -v fwknopd']).status !== 0) return undefined;
  const rig = await createRig('ktfwkb');
  const dir = await mkdtemp(join(tmpdir(), 'kt-fwknopd-bench-'));
  let output = '';
  const fwknopd = await (async () => {
    await writeFile(
      join(dir, 'access.conf'),
      `SOURCE ANY\nOPEN_PORTS tcp/22\nKEY_BASE64 ${KEY}\nHMAC_KEY_BASE64 ${HMAC_KEY}\nFW_ACCESS_TIMEOUT 3600\n`,
      { mode: 0o600 },
    );
    await writeFile(
      join(dir, 'fwknopd.conf'),
      `PCAP_INTF ktfws;\nENABLE_UDP_SERVER Y;\nUDPSERV_PORT ${PORT};\nFWKNOP_RUN_DIR ${dir};\n`,
      { mode: 0o600 },
    );
    await rig.exec(rig.server, [
      'iptables',
      '-A',
      'INPUT',
      '-p',
      'tcp',
      '--dport',
      '22',
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    ]);
    const child = rig.spawn(rig.server, [
      'fwknopd',
      '-f',
      '-U',
      '-c',
      join(dir, 'fwknopd.conf'),
      '-a',
      join(dir, 'access.conf'),
      '-p',
      join(dir, 'fwknopd.pid'),
      '-d',
      join(dir, 'digest.cache'),
      '-r',
      dir,
    ]);
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  })();
  try {
    const stopListener = await rig.listen(rig.server, 22);
    for (let tries = 0; tries < 50 && !output.includes('Kicking off UDP server'); tries++)
      await new Promise((done) => setTimeout(done, 100));
    const times: number[] = [];
    for (let trial = 0; trial < trials; trial += 1) {
      const result = await rig.exec(rig.client, [
        'node',
        '-e',
        RACE,
        seal(rig.clientV4).toString('base64'),
        rig.serverV4,
      ]);
      times.push(Number(result.stdout.trim()));
      await rig.exec(rig.server, ['iptables', '-F', 'FWKNOP_INPUT']);
    }
    await stopListener();
    const opened = times.filter(Number.isFinite).sort((a, b) => a - b);
    return {
      backend: 'fwknopd 2.6.10 (UDP server, iptables)',
      trials,
      opened: opened.length,
      'median ms': Number(quantile(opened, 0.5).toFixed(2)),
      'p95 ms': Number(quantile(opened, 0.95).toFixed(2)),
    };
  } finally {
    if (fwknopd.pid !== undefined && fwknopd.exitCode === null) {
      const exited = new Promise<void>((done) => fwknopd.once('exit', () => done()));
      process.kill(fwknopd.pid, 'SIGTERM');
      await exited;
    }
    await rig.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureThroughput(kind: 'valid' | 'garbage', count: number): Promise<Record<string, string | number>> {
  const door: Door = {
    name: 'spa',
    sequence: [],
    oneTimeSequences: [],
    timeout: 25_000,
    open: [{ proto: 'tcp', port: 22 }],
    openFor: 30_000,
    closeSequence: [],
    allowFrom: [],
    spa: {
      port: PORT,
      key: KEY,
      hmacKey: HMAC_KEY,
      keyFile: 'spa.key',
      hmacKeyFile: 'spa-hmac.key',
      maxAge: 120_000,
      allowNat: false,
      requireSourceAddress: false,
    },
  };
  const src = normaliseAddress('203.0.113.9') as Address;
  const garbage = randomBytes(150).toString('base64').replace(/=+$/, '');
  const payloads = Array.from({ length: count }, () =>
    kind === 'valid' ? seal(src.text) : Buffer.from(garbage, 'latin1'),
  );
  let accepted = 0;
  let refused = 0;
  const grants: SpaGrantPort = {
    full: () => false,
    open: () => {
      accepted += 1;
      return Promise.resolve();
    },
    refuse: () => {
      refused += 1;
      return undefined;
    },
  };
  const handler = new SpaHandler({
    ports: spaDoorsByPort([door]),
    grants,
    cache: new ReplayCache(count + 1),
    now: () => Date.now(),
    remember: () => Promise.resolve(),
    count: () => undefined,
  });
  const start = process.hrtime.bigint();
  const effects = payloads.map((payload) => handler.receive({ src, dport: PORT, payload, length: payload.length }));
  await Promise.all(effects.map((effect) => effect ?? Promise.resolve()));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    packets:
      kind === 'valid' ? `valid (${payloads[0]!.length} B)` : `garbage (${payloads[0]!.length} B, refused at the HMAC)`,
    count,
    'packets/s': Math.round(count / seconds),
    'µs per packet': Number(((seconds / count) * 1e6).toFixed(1)),
    outcome: `${accepted} accepted, ${refused} refused`,
  };
}

export const bench: BenchFunction = async ({ quick }) => {
  const throughput = [
    await measureThroughput('valid', quick ? 5_000 : 50_000),
    await measureThroughput('garbage', quick ? 20_000 : 200_000),
  ];
  const trials = quick ? 10 : 40;
  const latency = [await measureLive('nftables', trials), await measureLive('ipset', trials)];
  const fwknopd = await measureFwknopd(trials);
  if (fwknopd) {
    latency.push(fwknopd);
    addMedianRatio(latency, fwknopd, 'fwknopd');
  }
  return {
    name: 'spa (single packet authorization)',
    rows: latency,
    tables: [
      { title: 'packets verified per second, one core, in process (SpaHandler, no firewall)', rows: throughput },
    ],
    notes: [
      'latency: from the SPA datagram sent in the client namespace to the start of the first connect to 22 that completed (a new connect every 1 ms); goal ≤ 3 ms median',
      'path: guard NFLOG copy (group = port, threshold 1) → tcpdump -i nflog:62201 -U -w - → pcap parse → HMAC → AES → replay cache saved → grant engine → firewall',
      fwknopd
        ? 'fwknopd: the same rig, UDP-server mode (pcap mode not measured), the same packets (our client), its rules flushed between trials'
        : 'fwknopd: not installed, not measured',
    ],
  };
};
