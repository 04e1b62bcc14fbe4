// What an admin should check or configure when the canary's line did not come back (pure).

export interface LogPathFacts {
  /** config.source: "file", "kmsg", "nflog". */
  readonly source: string;
  readonly logFile: string;
  /** The container technology (`systemd-detect-virt --container`), undefined on a host or a VM. */
  readonly container: string | undefined;
  /** net.netfilter.nf_log_all_netns: true/false, undefined when unreadable (not the initial network namespace). */
  readonly nfLogAllNetns: boolean | undefined;
}

const NFLOG =
  'set "source": "nflog" in the config: NFLOG is delivered over netlink in the packet\'s own network namespace and read through ulogd2 (docs/containers.md)';

/** Advice lines, most likely cause first. */
export function logPathAdvice(facts: LogPathFacts): string[] {
  const advice: string[] = [];
  const isolated = facts.container !== undefined || facts.nfLogAllNetns === undefined;
  if (facts.source !== 'nflog' && isolated) {
    const where =
      facts.container !== undefined
        ? `this is a container (${facts.container})`
        : 'this is not the initial network namespace';
    advice.push(
      `${where}: the kernel prints LOG lines of a network namespace other than the host's only when the host sets net.netfilter.nf_log_all_netns=1, which lets every namespace on the machine print lines with any SRC=; ${NFLOG}`,
    );
  }
  if (facts.source === 'file') {
    advice.push(
      `rsyslog must run and route the kernel's lines to ${facts.logFile}: check the drop-in (/etc/rsyslog.d/30-knocktail.conf, or \`knocktail install\` renders it), then \`systemctl restart rsyslog\`; \`tail ${facts.logFile}\` should show the canary's line`,
    );
  } else if (facts.source === 'kmsg') {
    advice.push(
      'the daemon must read /dev/kmsg: in a container there is none; under the unit it needs the drop-in listed in the unit file (PrivateDevices=no, CAP_SYSLOG)',
    );
  } else if (facts.source === 'nflog') {
    advice.push(
      "ulogd must run with knocktail's own config (`knocktail install` renders it and its unit) and write the group's lines to the configured file",
    );
  }
  return advice;
}

/** What check-config says of the path before anything runs: the source, the canary, and a warning when this host cannot carry LOG lines. */
export function describeLogPathFacts(facts: LogPathFacts, canaryPort: number): string[] {
  const via =
    facts.source === 'file'
      ? `${facts.logFile} (rsyslog)`
      : facts.source === 'kmsg'
        ? '/dev/kmsg'
        : `${facts.logFile} (knocktail's ulogd2)`;
  const lines = [
    `log path: source ${facts.source}, ${via}; setup and every daemon start send a canary (udp 127.0.0.1:${canaryPort}) and arm the guard only once its line came back`,
  ];
  if (facts.source !== 'nflog' && (facts.container !== undefined || facts.nfLogAllNetns === undefined))
    lines.push(`warning: ${logPathAdvice(facts)[0]!}`);
  return lines;
}
