import type { CommandResult } from './backend.js';
import type { InteractiveProcess, ProcessStarter } from './interactive-process.js';

// One long-lived `nft -i` instead of a process per grant change (measured in bench/firewall.ts:
// a process start costs several ms, a line to a running nft a fraction of one). Each request is
// one line — nft runs a line as one batch, so the add-delete-add of a refresh stays atomic —
// followed by a marker line that nft rejects with its text echoed on stderr: everything on
// stderr before that echo belongs to the request. A dead or stuck process is replaced on the
// next request; a failed request is reported, and the backend then falls back to `nft -f -`.
export interface NftSessionOptions {
  /** Give up on a request (and kill the process) after this long. */
  readonly timeoutMs: number;
}

interface Pending {
  readonly token: string;
  readonly resolve: (result: CommandResult) => void;
  readonly timer: NodeJS.Timeout;
}

const CARET = /^\s*\^+\s*$/;

export class NftSession {
  private readonly starter: ProcessStarter;
  private readonly options: NftSessionOptions;
  private process: InteractiveProcess | undefined;
  private pending: Pending | undefined;
  private lines: string[] = [];
  private partial = '';
  private skipCaret = false;
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(starter: ProcessStarter, options: NftSessionOptions) {
    this.starter = starter;
    this.options = options;
  }

  /** Runs the statements as one nft batch; exit 0 on success, non-zero with nft's errors otherwise. */
  run(statements: readonly string[]): Promise<CommandResult> {
    const result = this.queue.then(() => this.send(statements));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Ends the helper process; the next request would start a new one. */
  stop(): void {
    const process = this.process;
    this.process = undefined;
    this.finish({ exitCode: 255, stdout: '', stderr: 'nft session stopped' });
    process?.kill();
  }

  private send(statements: readonly string[]): Promise<CommandResult> {
    return new Promise((resolve) => {
      const process = this.ensureProcess();
      const token = `knocktail-sync-${++this.seq}`;
      const timer = setTimeout(() => {
        this.process = undefined;
        this.finish({ exitCode: 255, stdout: '', stderr: `nft -i gave no answer within ${this.options.timeoutMs} ms` });
        process.kill();
      }, this.options.timeoutMs);
      this.lines = [];
      this.pending = { token, resolve, timer };
      process.ref();
      process.write(`${statements.join('; ')}\n${token}\n`);
    });
  }

  private ensureProcess(): InteractiveProcess {
    if (this.process) return this.process;
    const process = this.starter.start(['nft', '-i']);
    this.process = process;
    this.partial = '';
    this.skipCaret = false;
    process.onStderr((chunk) => {
      if (this.process === process) this.onStderr(chunk);
    });
    process.onExit(() => {
      if (this.process !== process) return;
      this.process = undefined;
      this.finish({ exitCode: 255, stdout: '', stderr: `nft -i exited: ${this.lines.join('\n')}` });
    });
    return process;
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
      if (this.pending && line === this.pending.token) {
        // The line before the echo is nft's complaint about the marker itself.
        const errors = this.lines.slice(0, -1);
        this.skipCaret = true;
        const failed = errors.some((text) => text.startsWith('Error:'));
        this.finish({ exitCode: failed ? 1 : 0, stdout: '', stderr: errors.join('\n') });
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
    clearTimeout(pending.timer);
    this.process?.unref();
    pending.resolve(result);
  }
}
