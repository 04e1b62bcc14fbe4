import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtCli } from './support/built-cli.js';
import { describeSystem } from './support/requirements.js';

// The README's ssh recipes, run by the real OpenSSH client on loopback: the knock is a UDP
// datagram to a local listener, the "server" a socket that speaks an SSH banner. No root and
// no namespace: nothing here touches a firewall.
describeSystem(
  'ssh recipes: ProxyCommand with knock --connect, Match exec with knock --quiet --verify',
  ['ssh'],
  () => {
    let dir: string;
    let knocks: UdpSocket;
    let knockPort: number;
    let arrived = 0;
    let server: Server;
    let sshPort: number;
    const seen: string[] = [];
    const knocktail = `${process.execPath} ${builtCli()}`;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ktdep-ssh-'));
      knocks = createSocket('udp4');
      knocks.on('message', () => (arrived += 1));
      await new Promise<void>((resolve) => knocks.bind(0, '127.0.0.1', () => resolve()));
      knockPort = knocks.address().port;
      // Says its banner, reads the client's, and hangs up: enough to show ssh spoke through the pipe.
      server = createServer((socket) => {
        seen.push(`connected after ${arrived} knock(s)`);
        socket.write('SSH-2.0-KnocktailTest\r\n');
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          const banner = /^(SSH-2\.0-[^\r\n]*)\r?\n/.exec(text);
          if (banner) {
            seen.push(`client banner ${banner[1]!.split('_')[0]!}`);
            socket.destroy();
          }
        });
        socket.on('error', () => undefined);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      sshPort = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => knocks.close(() => resolve()));
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    });

    // Asynchronous: the listeners above run in this process and must keep answering while ssh runs.
    const ssh = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn('ssh', ['-F', join(dir, 'ssh_config'), ...args], {
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 20_000,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });

    test('ProxyCommand knocktail knock --quiet --connect %h:%p: ssh reaches the server through the connection the knock opened, and no knock text corrupts the stream', async () => {
      await writeFile(
        join(dir, 'ssh_config'),
        [
          'Host server',
          '  HostName 127.0.0.1',
          `  Port ${sshPort}`,
          '  BatchMode yes',
          '  StrictHostKeyChecking no',
          '  UserKnownHostsFile /dev/null',
          '  ConnectTimeout 10',
          `  ProxyCommand ${knocktail} knock --quiet --connect %h:%p %h udp:${knockPort}`,
          '',
        ].join('\n'),
      );
      seen.length = 0;
      arrived = 0;
      const run = await ssh(['server', 'true']);
      // The fake server hangs up after the banners, so ssh itself fails; what matters is what crossed.
      expect(run.status).toBe(255);
      expect(seen).toEqual(['connected after 1 knock(s)', 'client banner SSH-2.0-OpenSSH']);
      expect(run.stderr).not.toContain('knocked');
      expect(run.stderr).not.toContain('Bad packet length');
    }, 30_000);

    test('Match exec "knocktail knock --quiet --verify PORT …": the block applies when the door verified open, and not when it did not', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      await writeFile(
        join(dir, 'ssh_config'),
        [
          `Match originalhost open exec "${knocktail} knock --quiet --verify ${sshPort} 127.0.0.1 udp:${knockPort}"`,
          '  Port 2201',
          `Match originalhost shut exec "${knocktail} knock --quiet --verify ${closedPort} 127.0.0.1 udp:${knockPort}"`,
          '  Port 2202',
          '',
        ].join('\n'),
      );
      arrived = 0;
      const open = await ssh(['-G', 'open']);
      expect(open.status).toBe(0);
      expect(open.stdout).toMatch(/^port 2201$/m);
      expect(arrived).toBe(1);
      const shut = await ssh(['-G', 'shut']);
      expect(shut.stdout).toMatch(/^port 22$/m);
      expect(arrived).toBe(2);
    }, 30_000);
  },
);
