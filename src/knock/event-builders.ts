import type { KnockEvent, RejectReason, ResetReason } from './events.js';

// Event constructors as plain literals: V8 builds `{ ...base, kind, ... }` on a slow path
// (~100× slower), and under a flood the tracker makes one or two events per packet.
export interface EventBase {
  readonly door: string;
  readonly src: string;
  readonly family: 4 | 6;
  readonly at: number;
}

type Sequence = 'open' | 'close';

export function advancedEvent(base: EventBase, sequence: Sequence, step: number, of: number): KnockEvent {
  return { door: base.door, src: base.src, family: base.family, at: base.at, kind: 'advanced', sequence, step, of };
}

export function resetEvent(base: EventBase, sequence: Sequence, reason: ResetReason): KnockEvent {
  return { door: base.door, src: base.src, family: base.family, at: base.at, kind: 'reset', sequence, reason };
}

export function completedEvent(base: EventBase): KnockEvent {
  return { door: base.door, src: base.src, family: base.family, at: base.at, kind: 'completed', sequence: 'open' };
}

export function closedEvent(base: EventBase): KnockEvent {
  return { door: base.door, src: base.src, family: base.family, at: base.at, kind: 'closed', sequence: 'close' };
}

export function rejectedEvent(base: EventBase, reason: RejectReason): KnockEvent {
  return { door: base.door, src: base.src, family: base.family, at: base.at, kind: 'rejected', reason };
}

export function scannerEvent(src: string, family: 4 | 6, at: number, port: string, until: number): KnockEvent {
  return { door: '', src, family, at, kind: 'scanner', port, until };
}
