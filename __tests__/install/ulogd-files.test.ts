import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NFLOG_GROUP, renderUlogdConfig, renderUlogdUnit } from '../../src/install/ulogd-files.js';
import { detectContainer } from '../../src/host/detect-container.js';
import type { CommandRunner } from '../../src/firewall/backend.js';

const options = { group: 7, logFile: '/var/log/knocktail/knocks.log', pluginDir: '/usr/lib/x86_64-linux-gnu/ulogd' };

describe("knocktail's ulogd2 config and unit", () => {
  test('the config stacks NFLOG → BASE → IFINDEX → IP2STR → PRINTPKT → LOGEMU on the group, one packet per message, a flush per line', () => {
    const text = renderUlogdConfig(options);
    expect(text).toContain('stack=knock:NFLOG,base:BASE,ifindex:IFINDEX,ip2str:IP2STR,print:PRINTPKT,emu:LOGEMU\n');
    expect(text).toContain('[knock]\ngroup=7\n');
    expect(text).toMatch(/^netlink_qthreshold=1$/m);
    expect(text).toContain('[emu]\nfile="/var/log/knocktail/knocks.log"\nsync=1\n');
    for (const plugin of [
      'inppkt_NFLOG',
      'raw2packet_BASE',
      'filter_IFINDEX',
      'filter_IP2STR',
      'filter_PRINTPKT',
      'output_LOGEMU',
    ]) {
      expect(text).toContain(`plugin="/usr/lib/x86_64-linux-gnu/ulogd/ulogd_${plugin}.so"\n`);
    }
    // Its own log goes to the journal, never into the knock log.
    expect(text).toContain('logfile="stdout"\n');
  });

  test('a value ulogd could not read back, or a group out of range, is refused', () => {
    expect(() => renderUlogdConfig({ ...options, logFile: '/var/log/"x".log' })).toThrow(/logFile without quotes/);
    expect(() => renderUlogdConfig({ ...options, group: 65536 })).toThrow(/nflog.group to be 0-65535/);
  });

  test('the unit runs that config in UTC (the parser reads the time as UTC) and may write only the log directory', () => {
    const unit = renderUlogdUnit('/etc/knocktail/ulogd.conf', '/var/log/knocktail');
    expect(unit).toContain('ExecStart=/usr/sbin/ulogd -c /etc/knocktail/ulogd.conf\n');
    expect(unit).toContain('Environment=TZ=UTC\n');
    expect(unit).toContain('ReadWritePaths=-/var/log/knocktail\n');
    expect(unit).toContain('Group=knocktail\nUMask=0027\n');
    expect(unit).toContain('Before=knocktail.service\n');
    expect(() => renderUlogdUnit('/etc/knock tail/ulogd.conf', '/var/log/knocktail')).toThrow(/without spaces/);
  });

  test("the default group is the schema's", () => {
    const schema = JSON.parse(readFileSync(join(process.cwd(), 'src', 'config', 'schema.json'), 'utf8')) as {
      properties: { nflog: { properties: { group: { default: number } } } };
    };
    expect(DEFAULT_NFLOG_GROUP).toBe(schema.properties.nflog.properties.group.default);
  });
});

describe("detectContainer (systemd's record, else systemd-detect-virt --container through the command runner)", () => {
  const noRecord = (): Promise<string> => Promise.reject(new Error('ENOENT'));
  const runner = (exitCode: number, stdout: string, calls: string[][] = []): CommandRunner => ({
    run: (argv) => {
      calls.push([...argv]);
      return Promise.resolve({ exitCode, stdout, stderr: '' });
    },
  });

  test('names the container kind, and nothing outside one or when it cannot tell', async () => {
    const calls: string[][] = [];
    expect(await detectContainer(runner(0, 'lxc\n', calls), noRecord)).toBe('lxc');
    expect(calls).toEqual([['systemd-detect-virt', '--container']]);
    expect(await detectContainer(runner(0, 'systemd-nspawn\n'), noRecord)).toBe('systemd-nspawn');
    expect(await detectContainer(runner(1, 'none\n'), noRecord)).toBeUndefined();
    expect(
      await detectContainer({ run: () => Promise.reject(new Error('spawn systemd-detect-virt ENOENT')) }, noRecord),
    ).toBeUndefined();
    // PID 1's own record wins, without running anything.
    const none: string[][] = [];
    expect(await detectContainer(runner(1, 'none\n', none), () => Promise.resolve('systemd-nspawn\n'))).toBe(
      'systemd-nspawn',
    );
    expect(none).toEqual([]);
  });
});
