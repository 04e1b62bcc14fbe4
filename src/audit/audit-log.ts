import { constants } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { KnocktailError } from '../errors.js';
import { traceStage } from '../trace/stage-trace.js';
import type { AuditRecord, AuditSink } from './record.js';
import { formatAuditLine } from './audit-line.js';

// The audit trail on disk: winston carries records in order to a transport that appends
// them on an O_APPEND descriptor, each record whole within one write(2), and settles the
// caller's promise only once the kernel has the bytes, so an intent record is in the file
// before the firewall changes.

const RECORD = Symbol('knocktail.audit.record');
const SETTLE = Symbol('knocktail.audit.settle');

interface AuditInfo {
  level: string;
  message: string;
  [RECORD]: AuditRecord;
  [SETTLE]: (error?: Error) => void;
}

// winston exports its transport base class as `Transport`; its typings only know a lower-case alias.
const Transport = (winston as unknown as { Transport: typeof TransportStream }).Transport;

const FILE_MODE = 0o640;
const DIR_MODE = 0o750;

// Appends lines to `path`, reopening it when logrotate has moved it away (rename rotation).
// Records that queue up while a write is in flight go out together in the next write(2):
// each record is still whole inside one write, and a burst (reconcile closing many grants)
// costs one system call instead of one per record.
interface Pending {
  readonly line: string;
  readonly settle: (error?: Error) => void;
}

const MAX_BATCH = 256;

class AppendTransport extends Transport {
  private handle: FileHandle | undefined;
  private identity: { dev: number; ino: number } | undefined;
  private readonly queue: Pending[] = [];
  private writing = false;

  constructor(
    private readonly path: string,
    private readonly backend: string | undefined,
  ) {
    super({ level: 'info' });
  }

  override log(info: AuditInfo, next: () => void): void {
    this.queue.push({ line: formatAuditLine(info[RECORD], this.backend), settle: info[SETTLE] });
    if (!this.writing) void this.writeQueued();
    next();
  }

  private async writeQueued(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.append(batch.map((pending) => pending.line).join(''));
        traceStage('audit-written');
        for (const pending of batch) pending.settle();
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const pending of batch) pending.settle(failure);
      }
    }
    this.writing = false;
  }

  private async append(line: string): Promise<void> {
    const handle = await this.currentHandle();
    const bytes = Buffer.from(line, 'utf8');
    let written = 0;
    // One write call per record; the loop only matters if the kernel takes less (disk full).
    while (written < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.length - written);
      written += bytesWritten;
    }
  }

  private async currentHandle(): Promise<FileHandle> {
    const identity = this.identity;
    if (this.handle && identity) {
      const moved = await stat(this.path).then(
        (info) => info.ino !== identity.ino || info.dev !== identity.dev,
        () => true,
      );
      if (!moved) return this.handle;
      await this.closeFile();
    }
    await mkdir(dirname(this.path), { recursive: true, mode: DIR_MODE });
    const existed = await stat(this.path).then(
      () => true,
      () => false,
    );
    const handle = await open(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, FILE_MODE);
    // The umask may have taken bits off; a file we created gets exactly 0640.
    if (!existed) await handle.chmod(FILE_MODE);
    const info = await handle.stat();
    this.handle = handle;
    this.identity = { dev: info.dev, ino: info.ino };
    return handle;
  }

  async closeFile(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    this.identity = undefined;
    await handle?.close();
  }
}

/** The daemon's audit sink: JSON lines appended to `path` (0640; its directory 0750 if created). */
export function createAuditLog(path: string, options: { backend?: string } = {}): AuditSink {
  const transport = new AppendTransport(path, options.backend);
  const logger = winston.createLogger({ level: 'info', transports: [transport], exitOnError: false });
  let closing: Promise<void> | undefined;
  // Records settle in call order, so the last one settling means all have.
  let last: Promise<unknown> = Promise.resolve();

  return {
    write(record: AuditRecord): Promise<void> {
      traceStage('audit-call');
      if (closing) return Promise.reject(new KnocktailError('SOURCE_IO', `audit log ${path} is closed; cannot write a ${record.event} record`));
      const written = new Promise<void>((resolve, reject) => {
        const info: AuditInfo = {
          level: 'info',
          message: '',
          [RECORD]: record,
          [SETTLE]: (error) => (error ? reject(new KnocktailError('SOURCE_IO', `cannot append to audit log ${path}: ${error.message}`, { cause: error })) : resolve()),
        };
        logger.log(info as unknown as winston.LogEntry);
      });
      last = written.catch(() => undefined);
      return written;
    },
    close(): Promise<void> {
      // Ending winston with records still in its pipe loses them ("write after end"): drain first.
      closing ??= last
        .then(
          () =>
            new Promise<void>((resolve) => {
              transport.once('finish', resolve);
              logger.end();
            }),
        )
        .then(() => transport.closeFile());
      return closing;
    },
  };
}
