import type { CommandRunner } from '../firewall/backend.js';

// Whether this host is a container (LXC/LXD, OpenVZ, nspawn, Docker, Podman, WSL): there LOG
// lines of the container's network namespace reach no log (nf_log_all_netns is 0, and the
// container gets no /dev/kmsg), so `install` picks the NFLOG source. systemd-detect-virt
// --container prints the kind and exits 0 in one, prints "none" and exits 1 outside.
/** The container kind ("lxc", "systemd-nspawn", "docker", ...), or undefined: none, or it cannot tell. */
export async function detectContainer(runner: CommandRunner): Promise<string | undefined> {
  try {
    const result = await runner.run(['systemd-detect-virt', '--container']);
    const kind = result.stdout.trim();
    return result.exitCode === 0 && /^[a-z][a-z0-9-]{0,31}$/.test(kind) && kind !== 'none' ? kind : undefined;
  } catch {
    // No systemd-detect-virt (a minimal image): nothing known, the default source stays.
    return undefined;
  }
}
