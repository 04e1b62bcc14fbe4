import type { Rig } from './netns.js';

/**
 * Everything the server namespace's firewall holds, without counters or timestamps, for
 * "teardown restores the tables byte for byte" and "the rules equal the expected set".
 * `ipset: 'names'` lists set names only; `'members'` (ipset save) includes their members.
 */
export async function firewallSnapshot(rig: Rig, options: { ipset?: 'names' | 'members' } = {}): Promise<string> {
  const ipset = options.ipset === 'members' ? ['ipset', 'save'] : ['ipset', 'list', '-n'];
  const parts: string[] = [];
  for (const argv of [['iptables-save'], ['ip6tables-save'], ['nft', 'list', 'ruleset'], ipset]) {
    const result = await rig.exec(rig.server, argv);
    parts.push(`## ${argv.join(' ')}\n${result.stdout}`);
  }
  return parts
    .join('\n')
    .split('\n')
    .filter((line) => !line.startsWith('#') || line.startsWith('## '))
    .map((line) =>
      line
        .replace(/\[\d+:\d+\]/g, '[0:0]')
        .replace(/counter packets \d+ bytes \d+/g, 'counter')
        .replace(/ expires [0-9dhms]+/g, ''),
    )
    .join('\n');
}
