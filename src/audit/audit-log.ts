import { closeSync, constants, fstatSync, mkdirSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { KnocktailError } from '../model/errors.js';
import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';
import type { AuditRecord, AuditSink } from './record.js';
import { formatAuditLine } from './audit-line.js';
import { openOwnedFile } from '../fs/owned-file.js';

// The audit trail on disk: winston carries records in order to a transport that appends
// each one with a single write(2) on an O_APPEND descriptor, synchronously, and settles the
// caller's promise right after, so an intent record is in the file (handed to the kernel)
// before the firewall changes. Synchronous on purpose: a write of one line to the page cache
// takes microseconds, while each await on libuv's thread pool (a stat, then a write) cost
// about 0.3 ms on a busy machine, on the knock → open path. Not fsynced: a process crash loses
// nothing written, and a kernel crash or power loss that loses the page cache also loses the
// firewall change itself (nft/ipset/iptables state lives in kernel memory); the state file
// and the next start's reconcile are what survive a reboot.

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

// Appends lines to `path`, reopening it when logrotate has moved it away (rename rotation):
// the path is stat'ed before each record, so a record never goes into a file already rotated away.
class AppendTransport extends Transport {
  private fd: number | undefined;
  private identity: { dev: number; ino: number } | undefined;

  constructor(
    private readonly path: string,
    private readonly backend: string | undefined,
    private readonly tracer: Tracer,
  ) {
    super({ level: 'info' });
  }

  override log(info: AuditInfo, next: () => void): void {
    try {
      this.append(formatAuditLine(info[RECORD], this.backend));
      this.tracer.mark('audit-written');
      info[SETTLE]();
    } catch (error) {
      info[SETTLE](error instanceof Error ? error : new Error(String(error)));
    }
    next();
  }

  private append(line: string): void {
    const fd = this.currentFd();
    const bytes = Buffer.from(line, 'utf8');
    let written = 0;
    // One write call per record; the loop only matters if the kernel takes less (disk full).
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  }

  private currentFd(): number {
    const identity = this.identity;
    if (this.fd !== undefined && identity) {
      const info = statSync(this.path, { throwIfNoEntry: false });
      if (info && info.ino === identity.ino && info.dev === identity.dev) return this.fd;
      this.closeFile();
    }
    mkdirSync(dirname(this.path), { recursive: true, mode: DIR_MODE });
    // Exactly 0640 when created, never through a symlink, and the service user's when root makes it.
    const { fd } = openOwnedFile(this.path, constants.O_WRONLY | constants.O_APPEND, FILE_MODE);
    try {
      const info = fstatSync(fd);
      this.identity = { dev: info.dev, ino: info.ino };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
    return fd;
  }

  closeFile(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.identity = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}

/** The daemon's audit sink: JSON lines appended to `path` (0640; its directory 0750 if created). */
export function createAuditLog(path: string, options: { backend?: string; tracer?: Tracer } = {}): AuditSink {
  const tracer = options.tracer ?? NO_TRACE;
  const transport = new AppendTransport(path, options.backend, tracer);
  const logger = winston.createLogger({ level: 'info', transports: [transport], exitOnError: false });
  let closing: Promise<void> | undefined;
  // Records settle in call order, so the last one settling means all have.
  let last: Promise<unknown> = Promise.resolve();

  return {
    write(record: AuditRecord): Promise<void> {
      tracer.mark('audit-call');
      if (closing)
        return Promise.reject(
          new KnocktailError('SOURCE_IO', `audit log ${path} is closed; cannot write a ${record.event} record`),
        );
      const written = new Promise<void>((resolve, reject) => {
        const info: AuditInfo = {
          level: 'info',
          message: '',
          [RECORD]: record,
          [SETTLE]: (error) =>
            error
              ? reject(
                  new KnocktailError('SOURCE_IO', `cannot append to audit log ${path}: ${error.message}`, {
                    cause: error,
                  }),
                )
              : resolve(),
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
