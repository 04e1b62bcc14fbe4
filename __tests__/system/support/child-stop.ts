import type { ChildProcess } from 'node:child_process';

// A helper process a test started (rsyslogd, ulogd): whether it still runs, and a stop that
// sends SIGTERM to its PID, then SIGKILL after `graceMs`, and resolves once it has exited.
export interface StoppableChild {
  readonly alive: () => boolean;
  readonly stop: () => Promise<void>;
}

export function stoppable(child: ChildProcess, graceMs = 3000): StoppableChild {
  const state = { alive: true }; // cleared on exit, which TS cannot see through the callback
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  void exited.then(() => (state.alive = false));
  return {
    alive: () => state.alive,
    stop: async () => {
      if (!state.alive || child.pid === undefined) return;
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(
        () => state.alive && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'),
        graceMs,
      );
      await exited;
      clearTimeout(timer);
    },
  };
}
