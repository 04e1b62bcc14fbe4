import { formatDuration } from '../model/duration.js';
import { formatPort, formatStep, type Door, type Step } from '../model/door.js';

// One line per door for `check-config`, so an admin sees what the config means:
// "ssh: tcp:7000 udp:8000 tcp:9000 within 15s → opens tcp:22 for 1h, close: tcp:9001".
const steps = (sequence: readonly Step[]): string => sequence.map(formatStep).join(' ');

export function describeDoor(door: Door): string {
  const knocks: string[] = [];
  if (door.sequence.length > 0) knocks.push(steps(door.sequence));
  const oneTime = door.oneTimeSequences.length;
  if (oneTime > 0) knocks.push(`${oneTime} one-time sequence${oneTime === 1 ? '' : 's'}`);
  const timeBased = door.timeBased;
  if (timeBased) {
    const [low, high] = timeBased.portRange;
    knocks.push(
      `time-based ${timeBased.length} × ${timeBased.proto} in ${low}-${high} changing every ${formatDuration(timeBased.period)}`,
    );
  }
  if (door.spa)
    knocks.push(`an SPA packet (fwknop) on udp:${door.spa.port}, at most ${formatDuration(door.spa.maxAge)} old`);
  const longest = Math.max(
    door.sequence.length,
    ...door.oneTimeSequences.map((sequence) => sequence.length),
    timeBased?.length ?? 0,
  );
  const within = longest > 1 ? ` within ${formatDuration(door.timeout)}` : '';
  const lifetime = door.openFor === null ? 'until closed' : `for ${formatDuration(door.openFor)}`;
  let line = `${door.name}: ${knocks.join(' or ')}${within} → opens ${door.open.map(formatPort).join(' ')} ${door.spa ? `${lifetime} at most (the client may ask for less)` : lifetime}`;
  if (door.closeSequence.length > 0) line += `, close: ${steps(door.closeSequence)}`;
  if (door.allowFrom.length > 0) line += `, from ${door.allowFrom.map((cidr) => cidr.text).join(' ')}`;
  return line;
}
