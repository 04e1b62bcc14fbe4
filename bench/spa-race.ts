// One SPA trial from the client namespace, shared by the knocktail and fwknopd rows of the SPA
// bench: send the datagram, then start a new connect to 22 every 1 ms (Node's timer floor) until
// one completes. Times are process.hrtime (CLOCK_MONOTONIC, one clock for every process on the
// host, namespaces included), so they line up with the daemon's trace.
import type { Rig } from '../__tests__/system/support/netns.js';

export const SPA_PORT = 62201;

/** CLOCK_MONOTONIC ns of the datagram's send and of the start of the first connect that completed. */
export interface SpaRace {
  readonly sentAt: bigint;
  readonly openAt: bigint | undefined;
}

// The UDP socket is bound and connected before the clock starts, so the send is one sendmsg(2)
// inside send() (binding on the first send, as a bare send() does, took about 2 ms here and
// was counted as latency before); `net` is loaded before it too. The SPA port's ICMP
// port-unreachable comes back to the connected socket as an error, which is ignored.
const RACE = `
const dgram=require('dgram'),net=require('net');const [,payload,host]=process.argv;const bytes=Buffer.from(payload,'base64');
const s=dgram.createSocket('udp4');s.on('error',()=>{});s.connect(${SPA_PORT},host,()=>{
const t0=process.hrtime.bigint();s.send(bytes);let done=false,n=0;
const tick=setInterval(()=>{if(done||n++>3000)return;const start=process.hrtime.bigint();const c=net.connect({host,port:22});
c.setTimeout(200,()=>c.destroy());c.on('error',()=>{});c.on('connect',()=>{if(done)return c.destroy();done=true;clearInterval(tick);
console.log(t0+' '+start);c.destroy();process.exit(0)})},1);setTimeout(()=>{console.log(t0+' -');process.exit(1)},4000);});`;

/** Sends `packet` from the client namespace to the server's SPA port and races connects to 22. */
export async function raceSpa(rig: Rig, packet: Buffer): Promise<SpaRace> {
  const result = await rig.exec(rig.client, ['node', '-e', RACE, packet.toString('base64'), rig.serverV4]);
  const [sent = '0', open = '-'] = result.stdout.trim().split(' ');
  return { sentAt: BigInt(sent), openAt: open === '-' ? undefined : BigInt(open) };
}

/** Milliseconds from the send to the open, for the trials that opened, sorted. */
export function openedMs(races: readonly SpaRace[]): number[] {
  return races
    .flatMap((race) => (race.openAt === undefined ? [] : [Number(race.openAt - race.sentAt) / 1e6]))
    .sort((a, b) => a - b);
}

export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The bench's latency row: trials, how many opened, median and p95 in ms. */
export function latencyFields(races: readonly SpaRace[]): Record<string, number> {
  const opened = openedMs(races);
  return {
    trials: races.length,
    opened: opened.length,
    'median ms': Number(quantile(opened, 0.5).toFixed(2)),
    'p95 ms': Number(quantile(opened, 0.95).toFixed(2)),
  };
}
