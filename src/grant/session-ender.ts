import type { CommandRunner } from '../firewall/backend.js';
import { buildConntrackDeleteArgs, parseDeletedCount } from '../firewall/conntrack-args.js';
import type { Grant } from '../model/grant.js';

// Ends the connections a closed grant's source still holds to its ports (`endSessions`,
// `revoke --end-sessions`), through the one CommandRunner. Run after the grant's rule is
// gone, so the connection's next packet meets the guard's refusal.
export interface SessionEnd {
  /** Conntrack entries deleted, all ports together. */
  readonly ended: number;
  /** What failed, per port ("tcp:22: conntrack exited 2: …"); empty when all went through. */
  readonly errors: readonly string[];
  readonly commands: readonly (readonly string[])[];
}

export interface SessionEnder {
  end(grant: Grant): Promise<SessionEnd>;
}

export class ConntrackSessionEnder implements SessionEnder {
  private readonly runner: CommandRunner;

  constructor(runner: CommandRunner) {
    this.runner = runner;
  }

  async end(grant: Grant): Promise<SessionEnd> {
    let ended = 0;
    const errors: string[] = [];
    const commands: string[][] = [];
    for (const port of grant.ports) {
      const argv = buildConntrackDeleteArgs(grant.src, grant.family, port);
      commands.push(argv);
      const where = `${port.proto}:${port.port}`;
      try {
        const result = await this.runner.run(argv);
        const count = parseDeletedCount(result.stderr);
        // conntrack exits 1 when nothing matched ("0 flow entries have been deleted").
        if (result.exitCode === 0 || (result.exitCode === 1 && count === 0)) ended += count ?? 0;
        else errors.push(`${where}: conntrack exited ${result.exitCode}: ${result.stderr.trim()}`);
      } catch (error) {
        errors.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return { ended, errors, commands };
  }
}
