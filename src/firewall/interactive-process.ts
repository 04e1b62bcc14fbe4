// A long-lived helper process fed over stdin (`nft -i`, `iptables-restore --noflush -v`), as the sessions need it.
// While idle it is unref'd, so it never keeps a finished CLI command alive.
export interface InteractiveProcess {
  write(text: string): void;
  onStderr(fn: (chunk: string) => void): void;
  /** Stdout chunks, for tools that acknowledge there (`iptables-restore -v`); optional for starters that never need it. */
  onStdout?(fn: (chunk: string) => void): void;
  /** Called once when the process has ended, for whatever reason (also when it never started). */
  onExit(fn: () => void): void;
  kill(): void;
  /** Keep the event loop alive while a request is pending. */
  ref(): void;
  unref(): void;
}

export interface ProcessStarter {
  start(argv: readonly string[]): InteractiveProcess;
}

export function isProcessStarter(value: unknown): value is ProcessStarter {
  return typeof (value as Partial<ProcessStarter> | undefined)?.start === 'function';
}

// A long-lived reader with binary stdout (the SPA capture, `tcpdump -w -`).
export interface ByteStream {
  onData(fn: (chunk: Buffer) => void): void;
  onStderr(fn: (text: string) => void): void;
  /** Called once when the process ended (or never started). */
  onExit(fn: (detail: string) => void): void;
  kill(): void;
}

export interface StreamStarter {
  stream(argv: readonly string[]): ByteStream;
}
