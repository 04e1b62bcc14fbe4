import { readFile } from 'node:fs/promises';

// net.netfilter.nf_log_all_netns=1 makes the kernel print LOG lines of every network
// namespace (containers, test rigs, an unprivileged `unshare -Urn`) into the one kernel
// log: genuine kernel lines with our prefix and any SRC=. knocktail then relies on the
// DST= check alone, so it says so at start.
const SYSCTL = '/proc/sys/net/netfilter/nf_log_all_netns';

export const NF_LOG_ALL_NETNS_WARNING =
  'net.netfilter.nf_log_all_netns is 1: every network namespace on this machine (containers, `unshare -Urn`) can print kernel LOG lines with the knocktail prefix and any SRC=. ' +
  "Lines whose DST= is not one of this host's addresses (localAddresses or `ip -j addr`) are counted as foreign and never open a door, " +
  "but a namespace that puts this host's own address on one of its interfaces can still forge a knock; " +
  'set it to 0 (sysctl -w net.netfilter.nf_log_all_netns=0) unless something here needs it.';

// Outside the initial network namespace the sysctl cannot be read, and this namespace's LOG
// lines reach the kernel log only when it is 1: the same warning applies.
export const NF_LOG_ALL_NETNS_UNREADABLE_WARNING =
  'net.netfilter.nf_log_all_netns cannot be read here (not the initial network namespace); LOG lines of this namespace reach the kernel log only when it is 1. ' +
  NF_LOG_ALL_NETNS_WARNING.slice(NF_LOG_ALL_NETNS_WARNING.indexOf('every network namespace'));

/** Whether the sysctl is 1; undefined when it cannot be read (it exists in the initial network namespace only). */
export async function readNfLogAllNetns(
  read: (path: string) => Promise<string> = (path) => readFile(path, 'utf8'),
): Promise<boolean | undefined> {
  try {
    return (await read(SYSCTL)).trim() === '1';
  } catch {
    return undefined;
  }
}
