import { normaliseAddress } from '../address.js';
import { KnocktailError, describeValue } from '../errors.js';
import type { Grant } from '../model/grant.js';

// Defence in depth: a grant's source and door end up inside argv words, ipset/nft command
// lines and rule comments, so every builder refuses anything but a normalised address and a
// plain door name, even though the parser and config already guarantee both.
const DOOR_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export function checkGrant(grant: Pick<Grant, 'src' | 'family' | 'door'>): void {
  const address = normaliseAddress(grant.src);
  if (!address || address.text !== grant.src || address.family !== grant.family) {
    throw new KnocktailError('FIREWALL_COMMAND', `Expected a grant source in normalised IPv${grant.family} form, got ${describeValue(grant.src)}`);
  }
  if (!DOOR_NAME.test(grant.door)) {
    throw new KnocktailError('FIREWALL_COMMAND', `Expected a door name of lowercase letters, digits, "_" and "-", got ${describeValue(grant.door)}`);
  }
}
