import { normaliseAddress } from '../model/address.js';
import type { Limits } from '../config/types.js';
import { formatDuration, parseDuration } from '../model/duration.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { CloseOptions, GrantEngine } from '../grant/grant-engine.js';
import type { Door } from '../model/door.js';
import type { ControlHandler, ControlRequest } from './protocol.js';

// Answers grant/revoke/status, for the daemon (over the socket) and for the CLI when
// no daemon runs (on the state file and firewall directly): the same code either way.
export interface ControllerDeps {
  readonly grants: GrantEngine;
  readonly doors: () => readonly Door[];
  readonly limits: () => Limits;
  readonly status: () => unknown;
}

export class GrantController implements ControlHandler {
  private readonly deps: ControllerDeps;

  constructor(deps: ControllerDeps) {
    this.deps = deps;
  }

  async handle(request: ControlRequest): Promise<unknown> {
    switch (request.op) {
      case 'status':
        return this.deps.status();
      case 'grant':
        return this.grant(request.src, request.door, request.for);
      case 'revoke':
        return this.revoke(request.src, request.door, request.endSessions === true ? { endSessions: true } : {});
    }
  }

  private async grant(srcText: string, doorName: string, forText: string | undefined): Promise<unknown> {
    const src = this.address(srcText);
    const door = this.door(doorName);
    const { maxOpenFor } = this.deps.limits();
    // Without --for the door's lifetime applies, capped (an until-closed door gets the cap);
    // an explicit --for beyond the cap is refused rather than silently shortened.
    if (forText === undefined) {
      const openFor = door.openFor === null ? maxOpenFor : Math.min(door.openFor, maxOpenFor);
      return this.deps.grants.open(door, src.text, src.family, 'manual', openFor);
    }
    const openFor = forText === 'until-closed' ? null : parseDuration(forText);
    if (openFor === undefined)
      throw new KnocktailError(
        'USAGE',
        `Expected --for to be a duration like "30m" or "2h", got ${describeValue(forText)}`,
      );
    if (openFor === null || openFor > maxOpenFor) {
      throw new KnocktailError(
        'USAGE',
        `A manual grant may last at most ${formatDuration(maxOpenFor)} (limits.maxOpenFor), asked for ${forText}`,
      );
    }
    return this.deps.grants.open(door, src.text, src.family, 'manual', openFor);
  }

  /** `src` is the address as knocktail writes it (normalised), whatever form the caller typed. */
  private async revoke(
    srcText: string,
    doorName: string | undefined,
    options: CloseOptions,
  ): Promise<{ src: string; closed: string[] }> {
    const src = this.address(srcText);
    // Without --door every grant of the source closes, also one of a door the config no longer has.
    if (doorName === undefined)
      return { src: src.text, closed: await this.deps.grants.closeSource(src.text, 'revoked', options) };
    const held = this.deps.grants.get(doorName, src.text);
    const name = held ? held.door : this.door(doorName).name;
    return { src: src.text, closed: (await this.deps.grants.close(name, src.text, 'revoked', options)) ? [name] : [] };
  }

  private address(text: string): NonNullable<ReturnType<typeof normaliseAddress>> {
    const address = normaliseAddress(text);
    if (!address) throw new KnocktailError('USAGE', `Expected an IPv4 or IPv6 address, got ${describeValue(text)}`);
    return address;
  }

  private door(name: string): Door {
    const door = this.deps.doors().find((candidate) => candidate.name === name);
    // A name the config lacks is a usage mistake (exit 2), as for `knock --door`.
    if (!door)
      throw new KnocktailError(
        'USAGE',
        `Expected --door to name a door of the config (${
          this.deps
            .doors()
            .map((d) => `"${d.name}"`)
            .join(', ') || '(none)'
        }), got ${describeValue(name)}`,
      );
    return door;
  }
}
