import { NO_TRACE, type Tracer } from '../trace/stage-trace.js';
import type { CommandResult } from './backend.js';
import type { InteractiveProcess, ProcessStarter } from './interactive-process.js';

// One long-lived `nft -i` / `ipset -` instead of a process per grant change (measured in
// bench/firewall.ts: a process start costs several ms, a line to a running one a fraction of
// one). Each request is followed by a marker line the tool rejects with the marker's text
// echoed on stderr, so everything on stderr before that echo belongs to the request. A dead or
// stuck process is replaced on the next request; a failed request is reported, and the backend
// then repeats it through a one-shot command with retries.
export interface SessionDialect {
  readonly argv: readonly string[];
  /** The request text for these statements (ending in a newline). */
  request(statements: readonly string[]): string;
  /** A line the tool rejects, echoing `token` on stderr. */
  marker(token: string): string;
  isEcho(line: string, token: string): boolean;
  /** How many stderr lines just before the echo are the tool's complaint about the marker. */
  readonly complaintLines: number;
  /** Whether the request's own stderr lines mean it failed. */
  failed(lines: readonly string[]): boolean;
  /** Where the marker's echo appears (default stderr); on stdout, stderr only carries the request's errors. */
  readonly echoStream?: 'stdout' | 'stderr';
}

// nft runs one input line as one batch, so a refresh's add-delete-add stays atomic.
export const NFT_DIALECT: SessionDialect = {
  argv: ['nft', '-i'],
  request: (statements) => `${statements.join('; ')}\n`,
  marker: (token) => token,
  isEcho: (line, token) => line === token,
  complaintLines: 1,
  failed: (lines) => lines.some((line) => line.startsWith('Error:')),
};

/**
 * `iptables-restore --noflush -v` applies each `*filter … COMMIT` as it reads it and, with -v,
 * echoes `#` comment lines on stdout and flushes (measured on iptables 1.8.9, nf_tables and
 * legacy alike): a comment after the COMMIT is the acknowledgement that it was applied. A
 * failing transaction is not echoed: the tool prints its error on stderr and exits, so the
 * session reports the exit and starts a new process for the next request.
 */
export function restoreDialect(family: 4 | 6): SessionDialect {
  return {
    argv: [family === 4 ? 'iptables-restore' : 'ip6tables-restore', '-w', '--noflush', '-v'],
    request: (transactions) => transactions.join(''),
    marker: (token) => `# ${token}`,
    isEcho: (line, token) => line === `# ${token}`,
    complaintLines: 0,
    failed: (lines) => lines.some((line) => /error|failed/i.test(line)),
    echoStream: 'stdout',
  };
}

// `ipset -` reads commands interactively; creating a set of an unknown type echoes the type name.
export const IPSET_DIALECT: SessionDialect = {
  argv: ['ipset', '-'],
  request: (statements) => statements.map((line) => `${line}\n`).join(''),
  marker: (token) => `create knocktail-sync ${token}`,
  isEcho: (line, token) => line.includes(`'${token}'`),
  complaintLines: 0,
  failed: (lines) => lines.some((line) => /^ipset v[\d.]+: /.test(line)),
};

export interface LineSessionOptions {
  /** Give up on a request (and kill the process) after this long. */
  readonly timeoutMs: number;
  /** Marks each request sent and answered for the latency trace (default: none). */
  readonly tracer?: Tracer;
}

interface Pending {
  readonly token: string;
  readonly resolve: (result: CommandResult) => void;
  timer?: NodeJS.Timeout;
}

const CARET = /^\s*\^+\s*$/;

export class LineSession {
  private readonly starter: ProcessStarter;
  private readonly dialect: SessionDialect;
  private readonly options: LineSessionOptions;
  private process: InteractiveProcess | undefined;
  private pending: Pending | undefined;
  private lines: string[] = [];
  private partial = '';
  private stdoutPartial = '';
  private skipCaret = false;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  /** Requests queued behind the one in flight, not yet sent. */
  private waiting = 0;

  constructor(starter: ProcessStarter, dialect: SessionDialect, options: LineSessionOptions) {
    this.starter = starter;
    this.dialect = dialect;
    this.options = options;
  }

  /** Runs the statements; exit 0 on success, non-zero with the tool's errors otherwise. */
  run(statements: readonly string[]): Promise<CommandResult> {
    // Idle (nothing waiting, nothing in flight): sent now rather than a turn of the queue later.
    const idle = this.waiting === 0 && this.pending === undefined;
    if (!idle) this.waiting += 1;
    const result = idle
      ? this.send(statements)
      : this.queue.then(() => {
          this.waiting -= 1;
          return this.send(statements);
        });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Ends the helper process; the next request would start a new one. */
  stop(): void {
    const process = this.process;
    this.process = undefined;
    this.finish({ exitCode: 255, stdout: '', stderr: `${this.dialect.argv.join(' ')} session stopped` });
    process?.kill();
  }

  private send(statements: readonly string[]): Promise<CommandResult> {
    return new Promise((resolve) => {
      const process = this.ensureProcess();
      const token = `knocktail-sync-${++this.seq}`;
      const pending: Pending = { token, resolve };
      this.lines = [];
      this.pending = pending;
      process.ref();
      (this.options.tracer ?? NO_TRACE).mark('fw-send');
      try {
        process.write(`${this.dialect.request(statements)}${this.dialect.marker(token)}\n`);
      } catch (error) {
        // A process that cannot take the request is dropped now (the next request starts
        // another) and the request fails: no timer is left behind to end a later request.
        if (this.pending === pending) this.pending = undefined;
        this.lines = [];
        if (this.process === process) this.process = undefined;
        process.kill();
        throw error;
      }
      // Armed after the write: a process that answers within write() (the simulated firewall
      // of replay) needs no timer, so replay arms no real timer per change.
      if (this.pending === pending) {
        pending.timer = setTimeout(() => {
          this.process = undefined;
          this.finish({
            exitCode: 255,
            stdout: '',
            stderr: `${this.dialect.argv.join(' ')} gave no answer within ${this.options.timeoutMs} ms`,
          });
          process.kill();
        }, this.options.timeoutMs);
      }
    });
  }

  private ensureProcess(): InteractiveProcess {
    if (this.process) return this.process;
    const process = this.starter.start(this.dialect.argv);
    this.process = process;
    this.partial = '';
    this.skipCaret = false;
    this.stdoutPartial = '';
    process.onStderr((chunk) => {
      if (this.process === process) this.onStderr(chunk);
    });
    if (this.dialect.echoStream === 'stdout') {
      process.onStdout?.((chunk) => {
        if (this.process === process) this.onStdout(chunk);
      });
    }
    process.onExit(() => {
      if (this.process !== process) return;
      this.process = undefined;
      this.finish({
        exitCode: 255,
        stdout: '',
        stderr: `${this.dialect.argv.join(' ')} exited: ${this.lines.join('\n')}`,
      });
    });
    return process;
  }

  // Stdout only acknowledges (echoStream 'stdout'); anything else there is the tool's chatter.
  private onStdout(chunk: string): void {
    // The common chunk is one whole line (the echo): no split.
    if (this.stdoutPartial === '' && chunk.length > 0 && chunk.indexOf('\n') === chunk.length - 1) {
      this.onStdoutLine(chunk.slice(0, -1));
      return;
    }
    const parts = (this.stdoutPartial + chunk).split('\n');
    this.stdoutPartial = parts.pop() ?? '';
    for (const line of parts) this.onStdoutLine(line);
  }

  private onStdoutLine(line: string): void {
    if (this.pending && this.dialect.isEcho(line, this.pending.token)) {
      const errors = this.lines;
      this.finish({ exitCode: this.dialect.failed(errors) ? 1 : 0, stdout: '', stderr: errors.join('\n') });
    }
  }

  private onStderr(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (this.skipCaret && CARET.test(line)) {
        this.skipCaret = false;
        continue;
      }
      this.skipCaret = false;
      if (this.pending && this.dialect.echoStream !== 'stdout' && this.dialect.isEcho(line, this.pending.token)) {
        const errors = this.lines.slice(0, this.lines.length - this.dialect.complaintLines);
        // nft underlines the marker on the line after its echo.
        this.skipCaret = true;
        this.finish({ exitCode: this.dialect.failed(errors) ? 1 : 0, stdout: '', stderr: errors.join('\n') });
      } else {
        this.lines.push(line);
      }
    }
  }

  private finish(result: CommandResult): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.lines = [];
    (this.options.tracer ?? NO_TRACE).mark('fw-ack');
    if (pending.timer) clearTimeout(pending.timer);
    this.process?.unref();
    pending.resolve(result);
  }
}
