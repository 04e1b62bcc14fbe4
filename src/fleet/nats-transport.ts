import { readFile } from 'node:fs/promises';
import {
  connect,
  credsAuthenticator,
  nanos,
  type NatsConnection,
  type NodeConnectionOptions,
} from '@nats-io/transport-node';
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { FleetConfig } from '../config/types.js';
import { KnocktailError } from '../model/errors.js';
import { auditStreamName, auditSubject, bucketName } from './fleet-keys.js';
import type { FleetConnectionEvent, FleetEntry, FleetTransport, FleetUpdate } from './fleet-transport.js';

// The fleet transport on NATS JetStream: the group's KV bucket (history 1: only the current
// state of each grant matters; the revision orders its changes) and the audit stream
// (message-id deduplication within two minutes, so a retried publish is stored once).
const DUPLICATE_WINDOW_MS = 120_000;

export interface NatsFleetOptions {
  /** Bucket entries older than this are dropped by the server (at least limits.maxOpenFor, so a revoke outlives every grant it closes). */
  readonly bucketTtl: number;
  /** Connection name shown by the servers (monitoring). */
  readonly name?: string;
  /** Request timeout, ms (a put during a partition fails after this long). */
  readonly timeout?: number;
}

export async function natsConnectionOptions(
  fleet: FleetConfig,
  name: string,
  timeout: number,
): Promise<NodeConnectionOptions> {
  const auth = fleet.auth;
  const wantsTls = fleet.tls !== undefined || fleet.servers.some((server) => server.startsWith('tls://'));
  const options: NodeConnectionOptions = {
    servers: [...fleet.servers],
    name,
    timeout,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1000,
    // A dead connection is noticed within ~6 s: the member says so and catches up on reconnect.
    pingInterval: 2000,
    maxPingOut: 2,
    ...(wantsTls
      ? {
          tls: {
            ...(fleet.tls?.ca ? { caFile: fleet.tls.ca } : {}),
            ...(fleet.tls?.cert ? { certFile: fleet.tls.cert } : {}),
            ...(fleet.tls?.key ? { keyFile: fleet.tls.key } : {}),
            ...(fleet.tls?.serverName ? { servername: fleet.tls.serverName } : {}),
          },
        }
      : {}),
    ...(auth.kind === 'user' ? { user: auth.user, pass: auth.password } : {}),
    ...(auth.kind === 'token' ? { token: auth.token } : {}),
  };
  if (auth.kind === 'credentials') {
    let creds: Uint8Array;
    try {
      creds = await readFile(auth.file);
    } catch (error) {
      throw new KnocktailError(
        'CONFIG_UNREADABLE',
        `cannot read the NATS credentials ${auth.file}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    options.authenticator = credsAuthenticator(creds);
  }
  return options;
}

function toEntry(entry: KvEntry): FleetEntry {
  return {
    key: entry.key,
    value: entry.value,
    revision: entry.revision,
    created: entry.created.getTime(),
    operation: entry.operation,
  };
}

/**
 * The bucket's keys under `prefix`, from the stream's subject list. No consumer is created:
 * on nats-server 2.9 an ephemeral consumer can be placed on a peer that is down, and its
 * creation then times out, which must not stop a member from catching up.
 */
export async function listKeys(jsm: JetStreamManager, group: string, prefix: string): Promise<string[]> {
  const subjectPrefix = `$KV.${bucketName(group)}.`;
  const info = await jsm.streams.info(`KV_${bucketName(group)}`, { subjects_filter: `${subjectPrefix}${prefix}>` });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(subjectPrefix.length));
}

/** A plain NATS connection for the group, for the CLI's read-only `--fleet` views. */
export async function connectNats(fleet: FleetConfig, name: string, timeout = 5000): Promise<NatsConnection> {
  try {
    return await connect({ ...(await natsConnectionOptions(fleet, name, timeout)), maxReconnectAttempts: 0 });
  } catch (error) {
    if (error instanceof KnocktailError) throw error;
    throw new KnocktailError(
      'SOURCE_IO',
      `cannot reach the fleet's NATS servers ${fleet.servers.join(', ')}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Opens the group's bucket and audit stream, creating them when missing (first member to start). */
export async function openFleetStores(
  nc: NatsConnection,
  fleet: FleetConfig,
  options: NatsFleetOptions,
): Promise<{ js: JetStreamClient; jsm: JetStreamManager; kv: KV }> {
  const js = jetstream(nc, { timeout: options.timeout ?? 5000 });
  const jsm = await jetstreamManager(nc, { timeout: options.timeout ?? 5000 });
  const kv = await new Kvm(js).create(bucketName(fleet.group), {
    history: 1,
    replicas: fleet.replicas,
    ttl: options.bucketTtl,
    description: `knocktail fleet ${fleet.group}: grants and members`,
  });
  const stream = auditStreamName(fleet.group);
  try {
    await jsm.streams.info(stream);
  } catch {
    await jsm.streams.add({
      name: stream,
      description: `knocktail fleet ${fleet.group}: audit records of every member`,
      subjects: [`knocktail.${fleet.group}.audit.>`],
      max_age: nanos(fleet.auditRetention),
      num_replicas: fleet.replicas,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
  }
  return { js, jsm, kv };
}

export async function connectNatsFleet(fleet: FleetConfig, options: NatsFleetOptions): Promise<FleetTransport> {
  const timeout = options.timeout ?? 5000;
  const nc = await connect(
    await natsConnectionOptions(fleet, options.name ?? `knocktail ${fleet.group}/${fleet.host}`, timeout),
  );
  try {
    const { js, jsm, kv } = await openFleetStores(nc, fleet, options);
    return new NatsFleetTransport(nc, js, jsm, kv, fleet);
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw error;
  }
}

class NatsFleetTransport implements FleetTransport {
  private readonly listeners: ((event: FleetConnectionEvent) => void)[] = [];
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    private readonly fleet: FleetConfig,
  ) {
    void this.followStatus();
  }

  private async followStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect')
        for (const listener of this.listeners) listener(status.type);
    }
  }

  put(key: string, value: Uint8Array, expectedRevision?: number): Promise<number> {
    return this.kv.put(key, value, expectedRevision === undefined ? {} : { previousSeq: expectedRevision });
  }

  async get(key: string): Promise<FleetEntry | undefined> {
    const entry = await this.kv.get(key);
    return entry ? toEntry(entry) : undefined;
  }

  async entries(prefix: string): Promise<FleetEntry[]> {
    const keys = await listKeys(this.jsm, this.fleet.group, prefix);
    const entries: FleetEntry[] = [];
    for (const key of keys) {
      const entry = await this.kv.get(key);
      if (entry && entry.operation === 'PUT') entries.push(toEntry(entry));
    }
    return entries.sort((a, b) => a.revision - b.revision);
  }

  async follow(prefix: string, onUpdate: (update: FleetUpdate) => void): Promise<() => void> {
    // A plain subscription to the bucket's subjects, not a JetStream consumer: nats.js
    // re-subscribes on every reconnect by itself, and nothing is placed on a peer that is
    // down. The link catches up on what it missed with entries().
    const subjectPrefix = `$KV.${bucketName(this.fleet.group)}.`;
    const subscription = this.nc.subscribe(`${subjectPrefix}${prefix}>`, {
      callback: (error, message) => {
        if (error) return;
        if (message.headers?.get('KV-Operation')) return; // DEL/PURGE markers carry no envelope
        onUpdate({ key: message.subject.slice(subjectPrefix.length), value: message.data });
      },
    });
    await this.nc.flush();
    return () => subscription.unsubscribe();
  }

  async publishAudit(host: string, id: string, value: Uint8Array): Promise<void> {
    await this.js.publish(auditSubject(this.fleet.group, host), value, { msgID: id });
  }

  onConnection(listener: (event: FleetConnectionEvent) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** Every audit envelope in the group stream from `since` (epoch ms) on, oldest first. */
export async function* readAuditStream(
  nc: NatsConnection,
  fleet: FleetConfig,
  since?: number,
): AsyncGenerator<Uint8Array> {
  // Creating a consumer takes milliseconds when it works; a try placed on a dead peer only times out.
  const js = jetstream(nc, { timeout: 1000 });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  const stream = auditStreamName(fleet.group);
  const info = await jsm.streams.info(stream).catch((error: unknown) => {
    throw new KnocktailError(
      'NOT_FOUND',
      `Expected the fleet audit stream ${stream} on ${fleet.servers.join(', ')}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  if (info.state.messages === 0) return;
  const options =
    since === undefined
      ? {}
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since).toISOString() };
  // nats-server 2.9 may place the ephemeral consumer on a peer that is down: a few quick tries,
  // then read message by message from the stream leader (slower, needs no consumer).
  let consumer: Awaited<ReturnType<typeof js.consumers.get>> | undefined;
  for (let attempt = 1; !consumer && attempt <= 3; attempt++) {
    try {
      consumer = await js.consumers.get(stream, options);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  if (!consumer) {
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (message && (since === undefined || message.time.getTime() >= since)) yield message.data;
    }
    return;
  }
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 });
    let got = 0;
    let last = 0;
    for await (const message of batch) {
      got += 1;
      last = message.info.pending;
      yield message.data;
    }
    if (got === 0 || last === 0) return;
  }
}

/** The bucket of the group, for `status --fleet`. */
export async function openFleetBucket(nc: NatsConnection, fleet: FleetConfig): Promise<KV> {
  return new Kvm(nc).open(bucketName(fleet.group));
}
