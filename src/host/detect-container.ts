import { readFile } from 'node:fs/promises';
import type { CommandRunner } from '../firewall/backend.js';

// Which container this runs in ("systemd-nspawn", "lxc", "docker", "openvz", ...), or undefined
// on a host or in a VM: systemd's own record (/run/systemd/container, written by PID 1 in a
// container), else `systemd-detect-virt --container`.
export async function detectContainer(
  runner: CommandRunner,
  read: (path: string) => Promise<string> = (path) => readFile(path, 'utf8'),
): Promise<string | undefined> {
  const recorded = await read('/run/systemd/container').then(
    (text) => text.trim(),
    () => '',
  );
  if (recorded !== '') return recorded;
  try {
    const detected = await runner.run(['systemd-detect-virt', '--container']);
    const name = detected.stdout.trim();
    return detected.exitCode === 0 && name !== '' && name !== 'none' ? name : undefined;
  } catch {
    return undefined;
  }
}
