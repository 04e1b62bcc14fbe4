import type { ByteStream, StreamStarter } from '../firewall/interactive-process.js';
import { LINKTYPE_NFLOG, readNflogFrame } from './nflog-frame.js';
import { PcapStreamParser } from './pcap-stream.js';
import { readUdpDatagram, type UdpDatagram } from './udp-datagram.js';

// SPA datagrams from the kernel: the guard copies each NEW packet to an SPA port to NFLOG group
// G (the port number) before refusing it, and `tcpdump -i nflog:G -w -` (Debian's tcpdump,
// started through the command layer, argv only) streams them as pcap. No socket listens on
// the port, so it answers a scan exactly like an unused one; no compiler is needed.
/** The capture command for one NFLOG group. */
export function nflogCaptureArgv(group: number): string[] {
  return ['tcpdump', '-i', `nflog:${group}`, '--immediate-mode', '-U', '-w', '-'];
}

export interface NflogCaptureOptions {
  readonly starter: StreamStarter;
  readonly group: number;
  readonly onDatagram: (datagram: UdpDatagram) => void;
  /** The capture stopped by itself (it is restarted after `restartDelayMs`). */
  readonly onProblem: (message: string) => void;
  readonly restartDelayMs?: number;
}

export class NflogCapture {
  private readonly options: NflogCaptureOptions;
  private process: ByteStream | undefined;
  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: NflogCaptureOptions) {
    this.options = options;
  }

  /** Starts tcpdump; resolves once it listens (so no packet sent after this is missed), rejects when it exits first. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { options } = this;
      const parser = new PcapStreamParser();
      const child = options.starter.stream(nflogCaptureArgv(options.group));
      this.process = child;
      let listening = false;
      let stderr = '';
      child.onStderr((text) => {
        stderr = (stderr + text).slice(-2000);
        if (!listening && /listening on/.test(stderr)) {
          listening = true;
          resolve();
        }
      });
      child.onData((chunk) => {
        let records;
        try {
          records = parser.push(chunk);
        } catch (error) {
          options.onProblem(`nflog:${options.group}: ${(error as Error).message}`);
          child.kill();
          return;
        }
        for (const record of records) {
          if (record.linkType !== LINKTYPE_NFLOG) continue;
          const frame = readNflogFrame(record.data, record.littleEndian);
          const datagram = frame && readUdpDatagram(frame.packet);
          if (datagram) options.onDatagram(datagram);
        }
      });
      child.onExit((detail) => {
        this.process = undefined;
        const said = stderr.trim().split('\n').slice(-2).join(' / ');
        const message = `tcpdump on nflog:${options.group} exited (${detail})${said === '' ? '' : `: ${said}`}`;
        if (!listening) {
          reject(new Error(message));
          return;
        }
        if (this.stopped) return;
        options.onProblem(`${message}; restarting`);
        this.restartTimer = setTimeout(() => {
          if (!this.stopped) this.start().catch((error: unknown) => options.onProblem(String(error)));
        }, options.restartDelayMs ?? 1000);
      });
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.process?.kill();
  }

  /** Stops the capture and resolves once tcpdump has exited (its NFLOG group is free for another), or after `limitMs`. */
  async stopAndWait(limitMs = 2000): Promise<void> {
    const running = this.process;
    this.stop();
    if (!running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      timer.unref();
      running.onExit(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
