import type { Clock, TimerHandle } from '../model/clock.js';
import { KnocktailError } from '../model/errors.js';
import type { CommandRunner } from '../firewall/backend.js';
import { IP_ADDR_ARGV, parseIpAddrJson } from './ip-addr.js';

export interface LocalAddressesOptions {
  /** Addresses from the config; when given, the system is never asked. */
  readonly fixed?: readonly string[];
  readonly runner: CommandRunner;
  readonly clock: Clock;
  /** How often the system's addresses are read again (default 30 s). */
  readonly refreshMs?: number;
  /** The set changed on a refresh (for the operational log). */
  readonly onChange?: (addresses: readonly string[]) => void;
  /** A refresh failed; the last known set stays in use. */
  readonly onError?: (error: unknown) => void;
}

// The host's own addresses, which DST= must name for a packet to be a knock: the config's
// list, or `ip -j addr` read at start (a failure stops the start) and again periodically,
// so an address added by DHCP or SLAAC counts within one refresh.
export class LocalAddresses {
  private addresses: ReadonlySet<string> = new Set();
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly options: LocalAddressesOptions) {}

  /** The current set (empty before start()). */
  current(): ReadonlySet<string> {
    return this.addresses;
  }

  async start(): Promise<void> {
    const { fixed } = this.options;
    if (fixed && fixed.length > 0) {
      this.addresses = new Set(fixed);
      return;
    }
    this.addresses = new Set(await this.read());
    if (this.addresses.size === 0)
      throw new KnocktailError(
        'SOURCE_IO',
        'Expected `ip -j addr show` to list at least one address of this host, got none; set localAddresses in the config',
      );
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<string[]> {
    const result = await this.options.runner.run(IP_ADDR_ARGV);
    if (result.exitCode !== 0) {
      throw new KnocktailError(
        'SOURCE_IO',
        `Expected \`${IP_ADDR_ARGV.join(' ')}\` to list this host's addresses, it exited ${result.exitCode}: ${result.stderr.trim()}`,
      );
    }
    return parseIpAddrJson(result.stdout);
  }

  private schedule(): void {
    if (this.stopped) return;
    const { clock } = this.options;
    this.timer = clock.setTimer(clock.now() + (this.options.refreshMs ?? 30_000), () => {
      this.read()
        .then((addresses) => {
          const changed =
            addresses.length !== this.addresses.size || addresses.some((address) => !this.addresses.has(address));
          // An empty answer is a glitch, not a host without addresses: keep the last set.
          if (changed && addresses.length > 0) {
            this.addresses = new Set(addresses);
            this.options.onChange?.(addresses);
          }
        })
        .catch((error: unknown) => this.options.onError?.(error))
        .finally(() => this.schedule());
    });
  }
}
