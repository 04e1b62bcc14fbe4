import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderRsyslogDropin } from '../../../src/install/rsyslog-dropin.js';
import { builtCli, repoRoot } from './built-cli.js';
import { createRig, enableLogAllNetns, must, pollConnect, runArgv, type ExecResult, type Rig } from './netns.js';
import { startRsyslog } from './rsyslog.js';
import { sleep } from '../../support/helpers.js';

// A fleet in a box: a 3-node JetStream cluster of the system's nats-server in a namespace
// of its own, N bastion namespaces (each its own knocktail daemon, log prefix, log file,
// firewall and port listeners) and a client namespace, all joined by a bridge that lives in
// a hub namespace, on 203.0.113.0/24. Nothing touches the host's network: every process
// is started and stopped by PID, and destroy() deletes every namespace.
export const FLEET_NET = '203.0.113';
export const NATS_ADDRESS = `${FLEET_NET}.10`;
export const CLIENT_ADDRESS = `${FLEET_NET}.2`;
export const NATS_PORTS = [14222, 14223, 14224] as const;
/** The name in the servers' certificate (nats.js cannot check a certificate against an IP URL). */
export const NATS_TLS_NAME = 'nats.knocktail.test';
const CLUSTER_PORTS = [16222, 16223, 16224] as const;
export const MONITOR_PORTS = [18222, 18223, 18224] as const;

export interface FleetMember {
  readonly host: string;
  readonly ns: string;
  readonly address: string;
  readonly configPath: string;
  readonly auditLog: string;
  readonly prefix: string;
  cli(args: readonly string[]): Promise<ExecResult>;
  output(): string;
  /** The daemon's PID while it runs. */
  pid(): number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL the daemon by its PID (a crash: nothing saved or flushed on the way out). */
  kill(): Promise<void>;
  /** Cut (or restore) this member's traffic to the NATS servers with iptables in its own namespace. */
  blockNats(blocked: boolean): Promise<void>;
}

export interface FleetRig {
  readonly rig: Rig;
  readonly dir: string;
  readonly members: readonly FleetMember[];
  readonly client: string;
  readonly natsNs: string;
  readonly keyFile: string;
  /** Credentials of a member or extra user, for scripts that talk to the cluster themselves. */
  login(user: string): NatsLogin;
  /** SIGKILL one NATS node (0-2) by its PID. */
  killNats(index: number): Promise<void>;
  /** What the NATS nodes printed (leader elections), for a failure's report. */
  natsOutput(): string;
  /** A real TCP connect from the client namespace. */
  connect(address: string, port: number, timeoutMs?: number): Promise<boolean>;
  waitOpen(address: string, port: number, timeoutMs: number): Promise<boolean>;
  waitClosed(address: string, port: number, timeoutMs: number): Promise<boolean>;
  /** Runs a node script (an ES module file) inside a namespace. */
  node(ns: string, script: string, timeoutMs?: number): Promise<ExecResult>;
  destroy(): Promise<void>;
}

export interface FleetRigOptions {
  readonly members: number;
  readonly doors: readonly Record<string, unknown>[];
  /** Ports to listen on in every bastion (the doors' open ports). */
  readonly ports: readonly number[];
  readonly fleet?: Record<string, unknown>;
  readonly backend?: 'iptables' | 'ipset' | 'nftables';
  /** NATS users besides the members (e.g. simulated members), with a member's permissions. */
  readonly extraUsers?: readonly string[];
}

/** How a script in a namespace reaches the cluster as user `user` (fields of the fleet config). */
export interface NatsLogin {
  readonly servers: readonly string[];
  readonly user: string;
  readonly password: string;
  readonly tls: { readonly ca: string; readonly serverName: string };
}

/** A throwaway CA and one server certificate for NATS_ADDRESS (clients check it against the CA). */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = join(dir, 'ca.pem');
  const cert = join(dir, 'nats.pem');
  const key = join(dir, 'nats.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await must([
    'openssl',
    'req',
    '-x509',
    ...ec,
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    ca,
    '-days',
    '2',
    '-subj',
    '/CN=knocktail fleet test CA',
  ]);
  await must([
    'openssl',
    'req',
    ...ec,
    '-keyout',
    key,
    '-out',
    join(dir, 'nats.csr'),
    '-subj',
    '/CN=nats',
    '-addext',
    `subjectAltName=DNS:${NATS_TLS_NAME},IP:${NATS_ADDRESS}`,
  ]);
  await must([
    'openssl',
    'x509',
    '-req',
    '-in',
    join(dir, 'nats.csr'),
    '-CA',
    ca,
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-copy_extensions',
    'copy',
  ]);
  return { ca, cert, key };
}

/** The documented permissions of one member: JetStream API, the group's bucket, its own audit subject. */
function memberUser(user: string, password: string): string {
  return `{ user: ${user}, password: "${password}", permissions: { publish: { allow: ["$JS.API.>", "$KV.knocktail_bastions.>", "knocktail.bastions.audit.${user}"] }, subscribe: { allow: ["_INBOX.>", "$KV.knocktail_bastions.>"] } } }`;
}

function natsConfig(
  dir: string,
  index: number,
  tls: { ca: string; cert: string; key: string },
  users: readonly string[],
): string {
  const routes = CLUSTER_PORTS.filter((_, other) => other !== index).map(
    (port) => `nats-route://${NATS_ADDRESS}:${port}`,
  );
  const tlsBlock = `tls { cert_file: "${tls.cert}", key_file: "${tls.key}", ca_file: "${tls.ca}" }`;
  return [
    `server_name: kt-n${index + 1}`,
    `listen: ${NATS_ADDRESS}:${NATS_PORTS[index]}`,
    `pid_file: "${join(dir, `n${index + 1}.pid`)}"`,
    `http: ${NATS_ADDRESS}:${MONITOR_PORTS[index]}`,
    `jetstream { store_dir: "${join(dir, `n${index + 1}-store`)}", max_memory_store: 64MB, max_file_store: 256MB }`,
    tlsBlock,
    `cluster { name: kt-fleet, listen: ${NATS_ADDRESS}:${CLUSTER_PORTS[index]}, ${tlsBlock}, routes: [${routes.join(', ')}] }`,
    `accounts { KNOCKTAIL { jetstream: enabled, users: [ ${users.join(', ')} ] } }`,
    '',
  ].join('\n');
}

export async function createFleetRig(options: FleetRigOptions): Promise<FleetRig> {
  const cliPath = builtCli();
  const dir = await mkdtemp(join(tmpdir(), 'kt-fleet-'));
  const tag = `${process.pid % 10000}${randomBytes(1).toString('hex')}`;
  const names = { hub: `ktfl${tag}-hub`, nats: `ktfl${tag}-nats`, client: `ktfl${tag}-cli` };
  const undo: (() => Promise<unknown>)[] = [async () => rm(dir, { recursive: true, force: true })];
  const destroy = async (): Promise<void> => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    undo.push(await enableLogAllNetns());
    // The rig's own namespaces stay idle; it lends its per-namespace TCP agents.
    const rig = await createRig('ktfl');
    undo.push(() => rig.destroy());
    const memberNs = Array.from({ length: options.members }, (_, index) => `ktfl${tag}-b${index + 1}`);
    for (const ns of [names.hub, names.nats, names.client, ...memberNs]) {
      await must(['ip', 'netns', 'add', ns]);
      undo.push(() => runArgv(['ip', 'netns', 'del', ns]));
      await must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await must(['ip', '-n', names.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await must(['ip', '-n', names.hub, 'link', 'set', 'br0', 'up']);
    const attach = async (ns: string, address: string, index: number): Promise<void> => {
      const port = `p${index}`;
      await must(['ip', 'link', 'add', port, 'netns', names.hub, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await must(['ip', '-n', names.hub, 'link', 'set', port, 'master', 'br0', 'up']);
      await must(['ip', '-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      await must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    };
    await attach(names.nats, NATS_ADDRESS, 0);
    await attach(names.client, CLIENT_ADDRESS, 1);
    for (const [index, ns] of memberNs.entries()) await attach(ns, `${FLEET_NET}.${21 + index}`, 2 + index);

    // The NATS cluster: TLS (clients and routes) and one user per member, as docs/fleet.md sets it up.
    const certificates = await makeCertificates(dir);
    const hosts = memberNs.map((_, index) => `b${index + 1}`);
    const passwords = new Map(
      [...hosts, ...(options.extraUsers ?? [])].map((user) => [user, randomBytes(12).toString('hex')]),
    );
    const users = [...passwords].map(([user, password]) => memberUser(user, password));
    const servers = NATS_PORTS.map((port) => `tls://${NATS_ADDRESS}:${port}`);
    const login = (user: string): NatsLogin => {
      const password = passwords.get(user);
      if (password === undefined) throw new Error(`fleet rig: no NATS user ${user}`);
      return { servers, user, password, tls: { ca: certificates.ca, serverName: NATS_TLS_NAME } };
    };
    const natsPids: (number | undefined)[] = [];
    const natsOutput = ['', '', ''];
    for (const index of [0, 1, 2]) {
      const conf = join(dir, `n${index + 1}.conf`);
      await writeFile(conf, natsConfig(dir, index, certificates, users));
      const child = spawn('ip', ['netns', 'exec', names.nats, 'nats-server', '-c', conf], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => (natsOutput[index] = `${natsOutput[index] ?? ''}${chunk.toString()}`));
      child.stderr.on('data', (chunk: Buffer) => (natsOutput[index] = `${natsOutput[index] ?? ''}${chunk.toString()}`));
      natsPids[index] = child.pid;
      const exited = new Promise<void>((done) => child.once('exit', () => done()));
      undo.push(async () => {
        if (child.exitCode !== null || child.pid === undefined) return;
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(
          () => child.exitCode === null && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
          5000,
        );
        await exited;
        clearTimeout(timer);
      });
    }
    const ready = Date.now() + 20_000;
    while (
      !natsOutput.every((text) => /JetStream cluster new metadata leader|Server is ready/.test(text)) ||
      !natsOutput.some((text) => /metadata leader/.test(text))
    ) {
      if (Date.now() > ready) throw new Error(`the NATS cluster did not come up:\n${natsOutput.join('\n---\n')}`);
      await sleep(100);
    }

    // The group key and one private rsyslogd routing each member's prefix to its own file.
    const keyFile = join(dir, 'fleet.key');
    await writeFile(keyFile, randomBytes(48).toString('base64'), { mode: 0o600 });
    const template = await readFile(join(repoRoot, 'rsyslog', '30-knocktail.conf'), 'utf8');
    const layout = memberNs.map((ns, index) => ({
      ns,
      host: `b${index + 1}`,
      prefix: `kt${tag}b${index + 1}: `,
      logFile: join(dir, `b${index + 1}`, 'knocks.log'),
    }));
    const rsyslog = await startRsyslog(
      join(dir, 'rsyslog'),
      layout.map((entry) => renderRsyslogDropin(template, { ...entry, group: 'root' })).join('\n'),
    );
    undo.push(() => rsyslog.stop());

    const members: FleetMember[] = [];
    for (const [index, { ns, host, prefix, logFile }] of layout.entries()) {
      const home = join(dir, host);
      await mkdir(home, { recursive: true });
      const configPath = join(home, 'config.json');
      const auditLog = join(home, 'audit.log');
      await writeFile(
        configPath,
        JSON.stringify({
          logFile,
          logPrefix: prefix,
          stateDir: join(home, 'state'),
          auditLog,
          firewall: { backend: options.backend ?? 'iptables', checkInterval: 5 },
          doors: options.doors,
          fleet: {
            ...login(host),
            group: 'bastions',
            host,
            keyFile,
            heartbeatInterval: '1s',
            replicas: 3,
            ...options.fleet,
          },
        }),
      );
      const cli = (args: readonly string[]): Promise<ExecResult> => rig.exec(ns, ['node', cliPath, ...args]);
      const setup = await cli(['setup', '--config', configPath]);
      if (setup.exitCode !== 0) throw new Error(`knocktail setup on ${host} failed: ${setup.stderr}`);
      undo.push(() => cli(['teardown', '--config', configPath]));
      for (const port of options.ports) undo.push(await rig.listen(ns, port, 4));
      let daemon: ChildProcess | undefined;
      let output = '';
      const stop = async (): Promise<void> => {
        const child = daemon;
        daemon = undefined;
        if (!child || child.exitCode !== null || child.pid === undefined) return;
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(
          () => child.exitCode === null && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
          5000,
        );
        await exited;
        clearTimeout(timer);
      };
      undo.push(stop);

      members.push({
        host,
        ns,
        address: `${FLEET_NET}.${21 + index}`,
        configPath,
        auditLog,
        prefix,
        cli,
        output: () => output,
        pid: () => (daemon?.exitCode === null ? daemon.pid : undefined),
        async start() {
          const socket = join(home, 'state', 'control.sock');
          await rm(socket, { force: true });
          const child = spawn('ip', ['netns', 'exec', ns, 'node', cliPath, 'run', '--config', configPath], {
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
          daemon = child;
          const deadline = Date.now() + 20_000;
          while (!existsSync(socket) || !output.includes(`member ${host}`)) {
            if (child.exitCode !== null || Date.now() > deadline)
              throw new Error(`daemon ${host} did not join the fleet:\n${output}`);
            await sleep(50);
          }
        },
        stop,
        async kill() {
          const child = daemon;
          if (!child || child.exitCode !== null || child.pid === undefined) return;
          const exited = new Promise<void>((done) => child.once('exit', () => done()));
          process.kill(child.pid, 'SIGKILL');
          await exited;
        },
        async blockNats(blocked) {
          // Both ways: data the servers already sent would otherwise still be read.
          const position = blocked ? ['-I'] : ['-D'];
          await must([
            'ip',
            'netns',
            'exec',
            ns,
            'iptables',
            '-w',
            ...position,
            'OUTPUT',
            ...(blocked ? ['1'] : []),
            '-d',
            NATS_ADDRESS,
            '-j',
            'DROP',
          ]);
          await must([
            'ip',
            'netns',
            'exec',
            ns,
            'iptables',
            '-w',
            ...position,
            'INPUT',
            ...(blocked ? ['1'] : []),
            '-s',
            NATS_ADDRESS,
            '-j',
            'DROP',
          ]);
        },
      });
    }

    const connect = (address: string, port: number, timeoutMs = 300): Promise<boolean> =>
      rig.connect(names.client, address, port, timeoutMs);
    const poll = (address: string, port: number, want: boolean, timeoutMs: number): Promise<boolean> =>
      pollConnect(rig, names.client, address, port, want, timeoutMs);
    return {
      rig,
      dir,
      members,
      client: names.client,
      natsNs: names.nats,
      keyFile,
      login,
      killNats(index) {
        const pid = natsPids[index];
        natsPids[index] = undefined;
        if (pid !== undefined) process.kill(pid, 'SIGKILL');
        return Promise.resolve();
      },
      natsOutput: () => natsOutput.map((text, index) => `--- n${index + 1}\n${text.slice(-3000)}`).join('\n'),
      connect,
      waitOpen: (address, port, timeoutMs) => poll(address, port, true, timeoutMs),
      waitClosed: (address, port, timeoutMs) => poll(address, port, false, timeoutMs),
      async node(ns, script, timeoutMs = 20_000) {
        const file = join(dir, `script-${randomBytes(4).toString('hex')}.mjs`);
        await writeFile(file, script);
        return rig.exec(ns, ['node', file], { timeoutMs });
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}
