import type { CommandResult, CommandRunner } from './backend.js';
import type { InteractiveProcess, ProcessStarter } from './interactive-process.js';
import { SimulatedTables } from './simulated-iptables.js';
import { SimulatedIpset } from './simulated-ipset.js';
import { SimulatedNft } from './simulated-nft.js';

// The firewall replay and `dry-run` talk to: a CommandRunner and ProcessStarter that runs
// nothing, answers every iptables/ip6tables/ipset/nft command (and the long-lived `nft -i` /
// `ipset -` sessions) the way the tool would, and reports each command to `onCommand`, so the
// configured backend class runs unchanged and replay can print exactly what a live daemon runs.
// Nothing is kept per command: memory follows the number of rules held, not the log's length.
export interface SimulatedCommand {
  readonly argv: readonly string[];
  /** stdin of a one-shot command, or the line fed to a session. */
  readonly input?: string;
}

export interface SimulatedFirewallOptions {
  /** The clock kernel-side timeouts (ipset, nft) run on. */
  readonly now: () => number;
  readonly onCommand?: (command: SimulatedCommand) => void;
  /** iptables/ip6tables chains that exist from the start, as on a host where `knocktail setup` ran. */
  readonly chains?: readonly string[];
  /**
   * The IPv4 nat table, as `iptables -t nat -S` prints it (`replay --nat`): what the DNAT probe
   * reads, so the forward twin is set up as on that host. Docker's chains there bring DOCKER-USER.
   */
  readonly nat?: string;
}

// The marker lines LineSession sends after each request are bookkeeping, not commands.
const MARKER = /knocktail-sync-\d+/;

export class SimulatedFirewall implements CommandRunner, ProcessStarter {
  private readonly options: SimulatedFirewallOptions;
  private readonly tables: Record<4 | 6, SimulatedTables>;
  private readonly ipset: SimulatedIpset;
  private readonly nft: SimulatedNft;

  constructor(options: SimulatedFirewallOptions) {
    this.options = options;
    const docker = options.nat !== undefined && /^-N DOCKER$/m.test(options.nat) ? ['DOCKER-USER'] : [];
    this.tables = {
      4: new SimulatedTables([...(options.chains ?? []), ...docker]),
      6: new SimulatedTables(options.chains),
    };
    this.ipset = new SimulatedIpset(options.now);
    this.nft = new SimulatedNft(options.now);
  }

  run(argv: readonly string[], options: { input?: string } = {}): Promise<CommandResult> {
    this.options.onCommand?.(
      options.input === undefined || options.input === '' ? { argv } : { argv, input: options.input },
    );
    return Promise.resolve(this.answer(argv, options.input ?? ''));
  }

  start(argv: readonly string[]): InteractiveProcess {
    const session = argv.join(' ');
    const restore =
      argv[0] === 'iptables-restore' || argv[0] === 'ip6tables-restore'
        ? this.tables[argv[0] === 'iptables-restore' ? 4 : 6]
        : undefined;
    const line =
      session === 'nft -i'
        ? (text: string) => this.nftLine(text)
        : session === 'ipset -'
          ? (text: string) => this.ipsetLine(text)
          : undefined;
    let stderr: ((chunk: string) => void) | undefined;
    let stdout: ((chunk: string) => void) | undefined;
    let exited: (() => void) | undefined;
    let ended = line === undefined && restore === undefined;
    const isEnded = (): boolean => ended;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (exited) queueMicrotask(exited);
    };
    // `iptables-restore --noflush -v`: a transaction applies at COMMIT, `-v` echoes comment lines on
    // stdout (the session's marker), and a failing transaction ends the process, as the tool does.
    let transaction: string[] = [];
    const restoreLine = (text: string): void => {
      if (text.startsWith('#')) {
        stdout?.(`${text}\n`);
        return;
      }
      transaction.push(text);
      if (text.trim() !== 'COMMIT') return;
      const result = restore!.restoreLines(transaction);
      transaction = [];
      if (result.exitCode !== 0) {
        stderr?.(result.stderr);
        end();
      }
    };
    return {
      write: (text) => {
        if (ended) return;
        if (restore) {
          const { onCommand } = this.options;
          if (onCommand) {
            const request = text.split('\n').filter((part) => part !== '' && !MARKER.test(part));
            if (request.length > 0) onCommand({ argv, input: `${request.join('\n')}\n` });
          }
          // restoreLine may end the session (a failed transaction): the rest of the write is lost, as with the tool.
          for (let start = 0; start < text.length && !isEnded();) {
            const newline = text.indexOf('\n', start);
            const stop = newline === -1 ? text.length : newline;
            if (stop > start) restoreLine(text.slice(start, stop));
            start = stop + 1;
          }
          return;
        }
        for (const request of text.split('\n').filter((part) => part !== '')) {
          if (this.options.onCommand && !MARKER.test(request)) this.options.onCommand({ argv, input: request });
          const out = line!(request);
          if (out) stderr?.(out);
        }
      },
      onStderr: (fn) => {
        stderr = fn;
      },
      onStdout: (fn) => {
        stdout = fn;
      },
      // A program this simulation has no session for ends at once; the backend falls back to one-shot commands.
      onExit: (fn) => {
        exited = fn;
        if (ended) queueMicrotask(fn);
      },
      kill: end,
      ref: () => undefined,
      unref: () => undefined,
    };
  }

  private answer(argv: readonly string[], input: string): CommandResult {
    const binary = argv[0] ?? '';
    switch (binary) {
      case 'iptables':
      case 'ip6tables': {
        // The nat table is only ever listed (the DNAT probe); the filter table is simulated in full.
        const table = argv.indexOf('-t');
        if (table !== -1 && argv[table + 1] === 'nat')
          return { exitCode: 0, stdout: binary === 'iptables' ? (this.options.nat ?? '') : '', stderr: '' };
        return this.tables[binary === 'iptables' ? 4 : 6].run(argv);
      }
      case 'iptables-restore':
      case 'ip6tables-restore':
        return this.tables[binary === 'iptables-restore' ? 4 : 6].restore(input);
      case 'iptables-save':
      case 'ip6tables-save':
        return this.tables[binary === 'iptables-save' ? 4 : 6].run([binary, '-S']);
      case 'ipset': {
        // `ipset [-exist] restore` / `ipset -` read commands from stdin; a leading -exist applies to each.
        const words = argv.slice(1);
        const exist = words.includes('-exist') || words.includes('-!');
        const rest = words.filter((word) => word !== '-exist' && word !== '-!');
        return rest[0] === 'restore' || rest[0] === '-' ? this.ipsetLines(input, exist) : this.ipset.run(words);
      }
      case 'nft':
        if (argv[1] === '-f') return this.nft.batch(input.split('\n'));
        if (argv.includes('list'))
          return this.nft.list({
            terse: argv.includes('-t'),
            setsOnly: argv.includes('sets'),
            ...(argv.includes('set') ? { set: argv.at(-1)! } : {}),
          });
        return this.nft.batch([argv.slice(1).join(' ')]);
      default:
        return { exitCode: 0, stdout: '', stderr: '' };
    }
  }

  private ipsetLines(input: string, exist: boolean): CommandResult {
    for (const line of input.split('\n').filter((text) => text.trim() !== '')) {
      const result = this.ipset.run([...(exist ? ['-exist'] : []), ...line.trim().split(/\s+/)]);
      if (result.exitCode !== 0) return result;
    }
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  // One line of an `nft -i` session: nft reports an error (and underlines the line) on stderr, success is silent.
  private nftLine(text: string): string {
    const result = this.nft.batch(text.split(';'));
    return result.exitCode === 0
      ? ''
      : result.stderr.replace(/\n[^\n]*\n[^\n]*\n$/, `\n${text}\n${'^'.repeat(text.length)}\n`);
  }

  private ipsetLine(text: string): string {
    return this.ipset.run(text.trim().split(/\s+/)).stderr;
  }
}
