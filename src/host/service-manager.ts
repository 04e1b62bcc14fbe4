import type { CommandRunner } from '../firewall/backend.js';

// systemd's readiness protocol for `knocktail run` under Type=notify: READY=1 once the guard is
// armed, the control socket answers and the SPA captures listen, so `systemctl start` and
// `systemctl restart` return when a knock can be heard (and fail when the daemon refuses to
// arm); STOPPING=1 when it stops. Sent with systemd-notify, which waits until the manager has
// processed the message before it exits, so the message is attributed to the unit although it
// comes from a child (the unit says NotifyAccess=all). Nothing is sent when NOTIFY_SOCKET is
// unset: not under systemd, or a unit of Type=simple.
export type ServiceState = { readonly ready: true; readonly status: string } | { readonly stopping: true };

/** Tells the service manager; resolves to a problem to log, or undefined (sent, or nothing to send to). */
export async function notifyServiceManager(
  runner: CommandRunner,
  env: Readonly<Record<string, string | undefined>>,
  state: ServiceState,
): Promise<string | undefined> {
  if ((env['NOTIFY_SOCKET'] ?? '') === '') return undefined;
  const fields = 'ready' in state ? ['READY=1', `STATUS=${state.status}`] : ['STOPPING=1'];
  try {
    const result = await runner.run(['systemd-notify', ...fields]);
    if (result.exitCode === 0) return undefined;
    return `systemd-notify ${fields[0]!} failed (exit ${result.exitCode}): ${result.stderr.trim()}`;
  } catch (error) {
    return `systemd-notify ${fields[0]!} failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}
