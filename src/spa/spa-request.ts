import { addressInAny, normaliseAddress, type Address } from '../model/address.js';
import { parseFwknopPort, type Door, type PortSpec, type SpaSettings } from '../model/door.js';
import { MESSAGE_TYPES, type FkoFields } from './fko-fields.js';

// What an authenticated SPA message may open, decided against its door (pure; time passed in).
// The access message is "ADDR,proto/port[,proto/port...]"; ADDR 0.0.0.0 (fwknop -s) means
// "the address this packet came from".
export type SpaRefusal =
  'stale' | 'port-not-allowed' | 'address-mismatch' | 'source-required' | 'unsupported' | 'not-allowed' | 'malformed';

export type SpaDecision =
  | {
      readonly kind: 'grant';
      /** The address to open for (normalised). */
      readonly address: Address;
      readonly requested: readonly PortSpec[];
      /** Grant lifetime, ms: the client's timeout capped by the door's openFor. */
      readonly openFor: number;
      /** The client's timeout in seconds, when it asked for one. */
      readonly clientTimeout?: number;
    }
  | { readonly kind: 'refuse'; readonly reason: SpaRefusal; readonly detail: string };

export type SpaDoor = Door & { readonly spa: SpaSettings };

const USE_SOURCE = '0.0.0.0';

function parsePorts(items: readonly string[]): PortSpec[] | undefined {
  const ports: PortSpec[] = [];
  for (const item of items) {
    const port = parseFwknopPort(item);
    if (!port) return undefined;
    ports.push(port);
  }
  return ports.length === 0 ? undefined : ports;
}

const refuse = (reason: SpaRefusal, detail: string): SpaDecision => ({ kind: 'refuse', reason, detail });

export function decideSpaRequest(door: SpaDoor, fields: FkoFields, source: Address, now: number): SpaDecision {
  const age = now - fields.timestamp * 1000;
  if (Math.abs(age) > door.spa.maxAge)
    return refuse(
      'stale',
      `timestamp ${Math.round(age / 1000)}s ${age >= 0 ? 'old' : 'in the future'}, more than ${door.spa.maxAge / 1000}s`,
    );
  if (fields.type !== MESSAGE_TYPES.access && fields.type !== MESSAGE_TYPES.clientTimeoutAccess) {
    return refuse('unsupported', `message type ${fields.type} (only access requests, types 1 and 3, are served)`);
  }
  const [addressText = '', ...portTexts] = fields.message.split(',');
  const requested = parsePorts(portTexts);
  if (!requested) return refuse('malformed', `access message is not ADDR,proto/port...`);
  if (door.allowFrom.length > 0 && !addressInAny(source, door.allowFrom))
    return refuse('not-allowed', `${source.text} is not in allowFrom`);
  let address: Address;
  if (addressText === USE_SOURCE) {
    if (door.spa.requireSourceAddress)
      return refuse(
        'source-required',
        'the packet asks for its source address (0.0.0.0) and the door requires an explicit one',
      );
    address = source;
  } else {
    const named = normaliseAddress(addressText);
    if (!named) return refuse('malformed', 'access message does not start with an IP address');
    if (named.text !== source.text && !door.spa.allowNat)
      return refuse('address-mismatch', `asks to open ${named.text} but came from ${source.text}`);
    address = named;
  }
  const denied = requested.find(
    (want) => !door.open.some((port) => port.proto === want.proto && port.port === want.port),
  );
  if (denied) return refuse('port-not-allowed', `${denied.proto}:${denied.port} is not among the door's open ports`);
  const doorFor = door.openFor ?? door.spa.maxAge;
  const timeout = fields.clientTimeout;
  const openFor = timeout === undefined || timeout === 0 ? doorFor : Math.min(doorFor, timeout * 1000);
  return { kind: 'grant', address, requested, openFor, ...(timeout === undefined ? {} : { clientTimeout: timeout }) };
}
