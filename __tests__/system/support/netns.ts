import { spawn as spawnChild } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

// A two-namespace test rig: `server` and `client` joined by a veth pair, with documentation
// addresses on both ends. Nothing touches the host's own network or firewall; destroy()
// deletes both namespaces and ends every helper process it started, and is idempotent.
// TCP is driven from one long-lived node "agent" per namespace (started lazily over
// `ip netns exec`), so a connect costs a message round trip, not a process start.

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string;
  /** Kill the command after this long (default 30 s); a kill reports exit code 124. */
  readonly timeoutMs?: number;
}

export interface ListenOptions {
  /** Echo bytes back instead of closing at once (to keep an established connection alive). */
  readonly echo?: boolean;
}

/** A TCP connection kept open from a namespace, to test that established flows survive. */
export interface HeldConnection {
  /** Sends a byte and waits for its echo; false when nothing came back in time or the socket died. */
  probe(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface Rig {
  readonly server: string;
  readonly client: string;
  readonly serverV4: string;
  readonly serverV6: string;
  readonly clientV4: string;
  readonly clientV6: string;
  exec(ns: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  spawn(ns: string, argv: readonly string[]): ChildProcess;
  /** A TCP listener in `ns` that accepts and closes (or echoes); resolves to its stopper. Family omitted = dual stack. */
  listen(ns: string, port: number, family?: 4 | 6, opts?: ListenOptions): Promise<() => Promise<void>>;
  /** A real TCP connect from `ns`, bounded by `timeoutMs`; true when the handshake completed. `localPort` binds the source port. */
  connect(ns: string, host: string, port: number, timeoutMs: number, opts?: { localPort?: number }): Promise<boolean>;
  /**
   * One knock SYN to `knockPort`, then a new connect to `port` every `everyMs` until one completes
   * (bounded by `limitMs`): CLOCK_MONOTONIC ns (process.hrtime) of the knock, the winning SYN and its handshake.
   */
  knockRace(
    ns: string,
    host: string,
    knockPort: number,
    port: number,
    opts: { everyMs: number; attemptMs: number; limitMs: number },
  ): Promise<KnockRace>;
  /** A UDP echo server in `ns` (dual stack); resolves to its stopper. */
  listenUdp(ns: string, port: number): Promise<() => Promise<void>>;
  /** One datagram from `ns`'s local port `localPort` to host:port; true when an answer came back in time. */
  udpExchange(ns: string, host: string, port: number, localPort: number, timeoutMs: number): Promise<boolean>;
  /** A connection held open from `ns` to an echo listener, or undefined when it could not connect. */
  hold(ns: string, host: string, port: number, timeoutMs: number): Promise<HeldConnection | undefined>;
  destroy(): Promise<void>;
}

const SERVER_V4 = '198.51.100.1';
const CLIENT_V4 = '198.51.100.2';
const SERVER_V6 = '2001:db8:1::1';
const CLIENT_V6 = '2001:db8:1::2';

// The agent runs inside a namespace; it exits when its stdin closes, so a crashed test leaves nothing behind.
const AGENT = String.raw`
const net = require('node:net');
const rl = require('node:readline').createInterface({ input: process.stdin });
const handles = new Map();
let next = 1;
const reply = (id, body) => process.stdout.write(JSON.stringify({ id, ...body }) + '\n');
const connect = (host, port, timeoutMs, done, localPort) => {
  const socket = net.connect(localPort ? { host, port, localPort } : { host, port });
  let settled = false;
  const finish = (ok) => { if (settled) return; settled = true; clearTimeout(timer); done(ok, socket); };
  const timer = setTimeout(() => { finish(false); socket.destroy(); }, timeoutMs);
  socket.once('connect', () => finish(true));
  socket.once('error', () => finish(false));
};
rl.on('line', (line) => {
  const req = JSON.parse(line);
  const { id, op } = req;
  if (op === 'listen') {
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      if (req.echo) socket.on('data', (data) => socket.write(data)); else socket.destroy();
    });
    const host = req.family === 4 ? '0.0.0.0' : '::';
    server.once('error', (error) => reply(id, { ok: false, error: String(error) }));
    server.listen({ host, port: req.port, ipv6Only: req.family === 6 }, () => {
      const handle = next++; handles.set(handle, server); reply(id, { ok: true, handle });
    });
  } else if (op === 'connect') {
    connect(req.host, req.port, req.timeoutMs, (ok, socket) => { socket.destroy(); reply(id, { ok }); }, req.localPort);
  } else if (op === 'knockRace') {
    // One knock SYN, then a new connect to req.port every req.everyMs (each pending up to
    // req.attemptMs) until one completes or req.limitMs: hrtime (CLOCK_MONOTONIC) ns of the
    // knock, of the winning SYN, of the SYN before it (dropped: the port was still closed when
    // it arrived) and of the winning handshake. The port opened between those two SYNs.
    const now = () => process.hrtime.bigint();
    const sentAt = now();
    const knock = net.connect({ host: req.host, port: req.knockPort });
    knock.on('error', () => {});
    setTimeout(() => knock.destroy(), 1);
    const sockets = new Set();
    let settled = false;
    let attempts = 0;
    let lastSynAt;
    const finish = (body) => {
      if (settled) return; settled = true;
      for (const s of sockets) s.destroy();
      reply(id, { ok: body.openAt !== undefined, sentAt: String(sentAt), attempts, ...body });
    };
    const attempt = () => {
      if (settled) return;
      if (Number(now() - sentAt) / 1e6 > req.limitMs || attempts >= 10000) { finish({}); return; }
      attempts++;
      const refusedAt = lastSynAt;
      const synAt = now();
      lastSynAt = synAt;
      const s = net.connect({ host: req.host, port: req.port });
      sockets.add(s);
      const timer = setTimeout(() => { sockets.delete(s); s.destroy(); }, req.attemptMs);
      s.once('connect', () => { clearTimeout(timer); finish({ refusedSentAt: String(refusedAt ?? sentAt), openSentAt: String(synAt), openAt: String(now()) }); });
      s.once('error', () => { clearTimeout(timer); sockets.delete(s); });
      setTimeout(attempt, req.everyMs);
    };
    attempt();
  } else if (op === 'listenUdp') {
    const socket = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
    socket.on('message', (msg, from) => socket.send(msg, from.port, from.address));
    socket.once('error', (error) => reply(id, { ok: false, error: String(error) }));
    socket.bind(req.port, '::', () => { const handle = next++; handles.set(handle, socket); reply(id, { ok: true, handle }); });
  } else if (op === 'udpExchange') {
    const socket = require('node:dgram').createSocket(req.host.includes(':') ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (ok) => { if (settled) return; settled = true; clearTimeout(timer); socket.close(); reply(id, { ok }); };
    const timer = setTimeout(() => finish(false), req.timeoutMs);
    socket.on('error', () => finish(false));
    socket.on('message', () => finish(true));
    socket.bind(req.localPort, () => socket.send('x', req.port, req.host));
  } else if (op === 'hold') {
    connect(req.host, req.port, req.timeoutMs, (ok, socket) => {
      if (!ok) { socket.destroy(); reply(id, { ok }); return; }
      socket.on('error', () => {});
      const handle = next++; handles.set(handle, socket); reply(id, { ok, handle });
    });
  } else if (op === 'probe') {
    const socket = handles.get(req.handle);
    if (!socket || socket.destroyed) { reply(id, { ok: false }); return; }
    let settled = false;
    const finish = (ok) => { if (settled) return; settled = true; clearTimeout(timer); socket.off('data', onData); reply(id, { ok }); };
    const onData = () => finish(true);
    const timer = setTimeout(() => finish(false), req.timeoutMs);
    socket.on('data', onData);
    socket.write('x');
  } else if (op === 'close') {
    const handle = handles.get(req.handle);
    handles.delete(req.handle);
    if (handle && typeof handle.destroy === 'function') handle.destroy();
    if (handle && typeof handle.close === 'function') { handle.close(); }
    reply(id, { ok: true });
  }
});
rl.on('close', () => process.exit(0));
`;

export interface KnockRace {
  readonly sentAt: bigint;
  /** The last SYN before the winning one (or the knock itself): the port was still closed when it arrived. */
  readonly refusedSentAt?: bigint;
  /** Undefined when the port did not open within the limit. */
  readonly openSentAt?: bigint;
  readonly openAt?: bigint;
  readonly attempts: number;
}

interface AgentReply {
  readonly id: number;
  readonly ok: boolean;
  readonly sentAt?: string;
  readonly refusedSentAt?: string;
  readonly openSentAt?: string;
  readonly openAt?: string;
  readonly attempts?: number;
  readonly handle?: number;
  readonly error?: string;
}

// One agent process per namespace, talking JSON lines over stdin/stdout.
class Agent {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (reply: AgentReply) => void>();
  private nextId = 1;
  private exited = false;

  constructor(ns: string, cpu: number | undefined) {
    const argv = pinned(cpu, ['ip', 'netns', 'exec', ns, process.execPath, '-e', AGENT]);
    this.child = spawnChild(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.on('exit', () => {
      this.exited = true;
      for (const resolve of this.waiting.values()) resolve({ id: 0, ok: false, error: 'agent exited' });
      this.waiting.clear();
    });
    this.child.on('error', () => undefined);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const reply = JSON.parse(line) as AgentReply;
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
  }

  request(body: Record<string, unknown>): Promise<AgentReply> {
    if (this.exited) return Promise.resolve({ id: 0, ok: false, error: 'agent exited' });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

/** Runs argv (no shell) and collects its output; never rejects on a non-zero exit. */
export function runArgv(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawnChild(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, stdout, stderr: `${stderr}${String(error)}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? 124 : (code ?? 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** runArgv that throws, naming the command, its exit status and its output, unless it exits 0. */
export async function must(argv: readonly string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
  const result = await runArgv(argv, options);
  if (result.exitCode !== 0)
    throw new Error(`${argv.join(' ')} → ${result.exitCode}: ${result.stdout}${result.stderr}`.trim());
  return result;
}

let counter = 0;

/**
 * Where the rig's two hosts run, for the latency bench: `server` (the server namespace's agent,
 * and its veth's received packets, steered there by RPS as a NIC's interrupt would be) and
 * `client` (the client's agent). Without it, a packet sent over the veth pair is received on
 * the sender's own CPU, which is busy by construction — a real server gets it from its NIC.
 */
export interface RigCpus {
  readonly server: number;
  readonly client: number;
}

export interface RigOptions {
  readonly cpus?: RigCpus;
}

/** `argv` run on `cpu` only (taskset), or as it is. */
export function pinned(cpu: number | undefined, argv: readonly string[]): string[] {
  return cpu === undefined ? [...argv] : ['taskset', '--cpu-list', String(cpu), ...argv];
}

/**
 * Connects from `ns` every 50 ms until the result is `want` (true: the port accepts, false: it
 * does not) or `timeoutMs` has passed; bounded in attempts too. Each try waits up to 300 ms.
 */
export async function pollConnect(
  rig: Pick<Rig, 'connect'>,
  ns: string,
  host: string,
  port: number,
  want: boolean,
  timeoutMs: number,
  maxAttempts = 400,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    if ((await rig.connect(ns, host, port, 300)) === want) return true;
    if (Date.now() > deadline) return false;
    await new Promise((done) => setTimeout(done, 50));
  }
  return false;
}

/** Creates the two namespaces and the veth pair; on any failure it cleans up before rethrowing. */
export async function createRig(name: string, options: RigOptions = {}): Promise<Rig> {
  const { cpus } = options;
  const base = `${name}-${process.pid}-${counter++}`;
  const server = `${base}-srv`;
  const client = `${base}-cli`;
  const agents = new Map<string, Agent>();
  let destroyed = false;

  const agentFor = (ns: string): Agent => {
    if (destroyed) throw new Error(`rig ${base} is destroyed`);
    let agent = agents.get(ns);
    if (!agent) {
      agent = new Agent(ns, ns === server ? cpus?.server : ns === client ? cpus?.client : undefined);
      agents.set(ns, agent);
    }
    return agent;
  };

  const destroy = async (): Promise<void> => {
    destroyed = true;
    await Promise.all([...agents.values()].map((agent) => agent.stop()));
    agents.clear();
    // Deleting a namespace also deletes its end of the veth pair, and with it the peer.
    await runArgv(['ip', 'netns', 'del', server]);
    await runArgv(['ip', 'netns', 'del', client]);
  };

  try {
    await must(['ip', 'netns', 'add', server]);
    await must(['ip', 'netns', 'add', client]);
    // Created directly inside the namespaces, so the names never meet the host's interfaces.
    await must([
      'ip',
      'link',
      'add',
      'ktfws',
      'netns',
      server,
      'type',
      'veth',
      'peer',
      'name',
      'ktfwc',
      'netns',
      client,
    ]);
    for (const [ns, dev, v4, v6] of [
      [server, 'ktfws', SERVER_V4, SERVER_V6],
      [client, 'ktfwc', CLIENT_V4, CLIENT_V6],
    ] as const) {
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      await must(['ip', '-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
      await must(['ip', '-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
      await must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    // The namespace's own /sys (ip netns exec mounts it), so only the rig's device changes.
    if (cpus)
      await must([
        'ip',
        'netns',
        'exec',
        server,
        'sh',
        '-c',
        `echo ${(1 << cpus.server).toString(16)} > /sys/class/net/ktfws/queues/rx-0/rps_cpus`,
      ]);
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    server,
    client,
    serverV4: SERVER_V4,
    serverV6: SERVER_V6,
    clientV4: CLIENT_V4,
    clientV6: CLIENT_V6,
    exec: (ns, argv, opts) => runArgv(['ip', 'netns', 'exec', ns, ...argv], opts),
    spawn: (ns, argv) => spawnChild('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] }),
    async listen(ns, port, family, opts = {}) {
      const agent = agentFor(ns);
      const reply = await agent.request({ op: 'listen', port, family, echo: opts.echo === true });
      if (!reply.ok) throw new Error(`listen on ${ns}:${port} failed: ${reply.error ?? 'unknown'}`);
      return async () => {
        await agent.request({ op: 'close', handle: reply.handle });
      };
    },
    async connect(ns, host, port, timeoutMs, opts = {}) {
      const reply = await agentFor(ns).request({
        op: 'connect',
        host,
        port,
        timeoutMs,
        ...(opts.localPort ? { localPort: opts.localPort } : {}),
      });
      return reply.ok;
    },
    async knockRace(ns, host, knockPort, port, opts) {
      const reply = await agentFor(ns).request({ op: 'knockRace', host, knockPort, port, ...opts });
      return {
        sentAt: BigInt(reply.sentAt ?? '0'),
        ...(reply.openSentAt !== undefined && reply.openAt !== undefined
          ? {
              refusedSentAt: BigInt(reply.refusedSentAt ?? reply.sentAt ?? '0'),
              openSentAt: BigInt(reply.openSentAt),
              openAt: BigInt(reply.openAt),
            }
          : {}),
        attempts: reply.attempts ?? 0,
      };
    },
    async listenUdp(ns, port) {
      const agent = agentFor(ns);
      const reply = await agent.request({ op: 'listenUdp', port });
      if (!reply.ok) throw new Error(`udp listen on ${ns}:${port} failed: ${reply.error ?? 'unknown'}`);
      return async () => {
        await agent.request({ op: 'close', handle: reply.handle });
      };
    },
    async udpExchange(ns, host, port, localPort, timeoutMs) {
      return (await agentFor(ns).request({ op: 'udpExchange', host, port, localPort, timeoutMs })).ok;
    },
    async hold(ns, host, port, timeoutMs) {
      const agent = agentFor(ns);
      const reply = await agent.request({ op: 'hold', host, port, timeoutMs });
      if (!reply.ok) return undefined;
      return {
        probe: async (probeTimeoutMs) =>
          (await agent.request({ op: 'probe', handle: reply.handle, timeoutMs: probeTimeoutMs })).ok,
        close: async () => {
          await agent.request({ op: 'close', handle: reply.handle });
        },
      };
    },
    destroy,
  };
}

const LOG_ALL_NETNS = '/proc/sys/net/netfilter/nf_log_all_netns';

/** Lets LOG rules in the test's namespaces reach the kernel log; resolves to a restore of the previous value. */
export async function enableLogAllNetns(): Promise<() => Promise<void>> {
  const { readFile, writeFile } = await import('node:fs/promises');
  const previous = (await readFile(LOG_ALL_NETNS, 'utf8')).trim();
  await writeFile(LOG_ALL_NETNS, '1');
  return () => writeFile(LOG_ALL_NETNS, previous);
}
