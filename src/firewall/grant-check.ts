import { normaliseAddress, type Family } from '../model/address.js';
import { KnocktailError, describeValue } from '../model/errors.js';
import type { Grant } from '../model/grant.js';

// Defence in depth: a grant's source and door end up inside argv words, ipset/nft command
// lines and rule comments, so every builder refuses anything but a normalised address and a
// plain door name, even though the parser and config already guarantee both.
const DOOR_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

// The check runs for every port of every change, and parsing an IPv6 source (ipaddr.js) costs
// microseconds each time: sources that passed are remembered with their family (the answer
// never changes), up to a bound, then forgotten all at once.
const PASSED_MAX = 4096;
const passed = new Map<string, Family>();
/** The door name that passed last: replay and a busy host check the same door over and over. */
let lastDoor: string | undefined;

export function checkGrant(grant: Pick<Grant, 'src' | 'family' | 'door'>): void {
  if (passed.get(grant.src) !== grant.family) {
    const address = normaliseAddress(grant.src);
    if (!address || address.text !== grant.src || address.family !== grant.family) {
      throw new KnocktailError(
        'FIREWALL_COMMAND',
        `Expected a grant source in normalised IPv${grant.family} form, got ${describeValue(grant.src)}`,
      );
    }
    if (passed.size >= PASSED_MAX) passed.clear();
    passed.set(grant.src, grant.family);
  }
  if (grant.door !== lastDoor) checkDoor(grant.door);
}

function checkDoor(door: string): void {
  if (!DOOR_NAME.test(door)) {
    throw new KnocktailError(
      'FIREWALL_COMMAND',
      `Expected a door name of lowercase letters, digits, "_" and "-", got ${describeValue(door)}`,
    );
  }
  lastDoor = door;
}
