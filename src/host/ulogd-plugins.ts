import { access, readdir } from 'node:fs/promises';

// Where ulogd2's plugins are: Debian puts them in /usr/lib/<multiarch>/ulogd, other builds in
// /usr/lib/ulogd. knocktail's ulogd2 config names them by full path.
/** The directory holding ulogd_inppkt_NFLOG.so, or undefined when ulogd2 is not installed. */
export async function findUlogdPluginDir(lib = '/usr/lib'): Promise<string | undefined> {
  const names = await readdir(lib).catch(() => [] as string[]);
  for (const dir of [`${lib}/ulogd`, ...names.sort().map((name) => `${lib}/${name}/ulogd`)]) {
    if (
      await access(`${dir}/ulogd_inppkt_NFLOG.so`).then(
        () => true,
        () => false,
      )
    )
      return dir;
  }
  return undefined;
}
