import { describe, expect, jest, test } from '@jest/globals';
import type { InteractiveProcess, ProcessStarter } from '../../src/firewall/interactive-process.js';
import { IPSET_DIALECT, LineSession, NFT_DIALECT } from '../../src/firewall/line-session.js';
import { SimulatedFirewall } from '../../src/firewall/simulated-firewall.js';

// A stand-in for `nft -i` that answers like the real one: errors and the marker's echo on stderr,
// delivered in awkward chunks. `mode` decides how it misbehaves.
class FakeNft implements ProcessStarter {
  readonly started: FakeProcess[] = [];
  mode: 'answer' | 'silent' | 'die' = 'answer';

  start(argv: readonly string[]): InteractiveProcess {
    const process = new FakeProcess(argv, this.mode);
    this.started.push(process);
    return process;
  }
}

class FakeProcess implements InteractiveProcess {
  readonly written: string[] = [];
  killed = false;
  private stderr: ((chunk: string) => void)[] = [];
  private exit: (() => void)[] = [];

  constructor(
    readonly argv: readonly string[],
    private readonly mode: FakeNft['mode'],
  ) {}

  write(text: string): void {
    this.written.push(text);
    if (this.mode === 'silent') return;
    if (this.mode === 'die') return void setImmediate(() => this.exit.forEach((fn) => fn()));
    let out = '';
    for (const line of text.split('\n').filter(Boolean)) {
      if (this.argv[0] === 'ipset') {
        const marker = /^create knocktail-sync (\S+)$/.exec(line);
        if (marker) out += `ipset v7.17: Syntax error: typename '${marker[1]}' is unknown\n`;
        else if (line.includes('nosuch')) out += 'ipset v7.17: The set with the given name does not exist\n';
      } else if (line.startsWith('knocktail-sync-')) out += `Error: syntax error, unexpected newline, expecting string\n${line}\n${' '.repeat(line.length)}^\n`;
      else if (line.includes('nosuch')) out += `Error: No such file or directory\n${line}\n      ^^^^^^\n`;
    }
    const cut = Math.floor(out.length / 2);
    setImmediate(() => this.stderr.forEach((fn) => fn(out.slice(0, cut))));
    setImmediate(() => this.stderr.forEach((fn) => fn(out.slice(cut))));
  }

  onStderr(fn: (chunk: string) => void): void {
    this.stderr.push(fn);
  }

  onExit(fn: () => void): void {
    this.exit.push(fn);
  }

  kill(): void {
    this.killed = true;
    setImmediate(() => this.exit.forEach((fn) => fn()));
  }

  ref(): void {}
  unref(): void {}
}

describe('a line session with nft -i', () => {
  test('statements go to one process as one line, and a clean answer is exit 0', async () => {
    const nft = new FakeNft();
    const session = new LineSession(nft, NFT_DIALECT, { timeoutMs: 1000 });
    expect(await session.run(['add element inet knocktail door-ssh-v4 { 198.51.100.2 }', 'delete element inet knocktail door-ssh-v4 { 198.51.100.2 }'])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(await session.run(['add table inet knocktail'])).toMatchObject({ exitCode: 0 });
    expect(nft.started).toHaveLength(1);
    expect(nft.started[0]!.argv).toEqual(['nft', '-i']);
    expect(nft.started[0]!.written[0]).toBe('add element inet knocktail door-ssh-v4 { 198.51.100.2 }; delete element inet knocktail door-ssh-v4 { 198.51.100.2 }\nknocktail-sync-1\n');
  });

  test('an error nft prints for the request is its stderr, with exit 1, and the next request is clean again', async () => {
    const session = new LineSession(new FakeNft(), NFT_DIALECT, { timeoutMs: 1000 });
    const failed = await session.run(['add element inet knocktail nosuch { 198.51.100.2 }']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('Error: No such file or directory');
    expect(failed.stderr).not.toContain('knocktail-sync');
    expect(await session.run(['add table inet knocktail'])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });

  test('concurrent requests are answered in order, each with its own result', async () => {
    const session = new LineSession(new FakeNft(), NFT_DIALECT, { timeoutMs: 1000 });
    const results = await Promise.all([session.run(['add table inet knocktail']), session.run(['delete element inet knocktail nosuch { 198.51.100.9 }']), session.run(['add table inet knocktail'])]);
    expect(results.map((r) => r.exitCode)).toEqual([0, 1, 0]);
  });

  test('a process that dies fails the request, and the next request starts a new one', async () => {
    const nft = new FakeNft();
    const session = new LineSession(nft, NFT_DIALECT, { timeoutMs: 1000 });
    nft.mode = 'die';
    expect((await session.run(['add table inet knocktail'])).exitCode).toBe(255);
    nft.mode = 'answer';
    expect((await session.run(['add table inet knocktail'])).exitCode).toBe(0);
    expect(nft.started).toHaveLength(2);
  });

  test('a process that stops answering is killed after the timeout and replaced', async () => {
    const nft = new FakeNft();
    const session = new LineSession(nft, NFT_DIALECT, { timeoutMs: 20 });
    nft.mode = 'silent';
    const stuck = await session.run(['add table inet knocktail']);
    expect(stuck).toMatchObject({ exitCode: 255, stderr: 'nft -i gave no answer within 20 ms' });
    expect(nft.started[0]!.killed).toBe(true);
    nft.mode = 'answer';
    expect((await session.run(['add table inet knocktail'])).exitCode).toBe(0);
    expect(nft.started).toHaveLength(2);
  });
});

describe('a line session with a process that answers within write()', () => {
  test('arms no timeout timer: replay runs its grant changes against the simulated firewall without real timers', async () => {
    const setTimer = jest.spyOn(globalThis, 'setTimeout');
    try {
      const session = new LineSession(new SimulatedFirewall({ now: () => 0 }), NFT_DIALECT, { timeoutMs: 1000 });
      expect((await session.run(['add table inet knocktail'])).exitCode).toBe(0);
      expect((await session.run(['add table inet knocktail'])).exitCode).toBe(0);
      expect(setTimer).not.toHaveBeenCalled();
    } finally {
      setTimer.mockRestore();
    }
  });
});

describe('a line session with ipset -', () => {
  test('each statement is its own line, and an ipset error fails the request', async () => {
    const nft = new FakeNft();
    const session = new LineSession(nft, IPSET_DIALECT, { timeoutMs: 1000 });
    expect(await session.run(['-exist add knocktail-ssh-v4 198.51.100.2 timeout 60'])).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    const failed = await session.run(['-exist del nosuch 198.51.100.2']);
    expect(failed).toEqual({ exitCode: 1, stdout: '', stderr: 'ipset v7.17: The set with the given name does not exist' });
    expect(nft.started[0]!.argv).toEqual(['ipset', '-']);
    expect(nft.started[0]!.written[0]).toBe('-exist add knocktail-ssh-v4 198.51.100.2 timeout 60\ncreate knocktail-sync knocktail-sync-1\n');
  });
});
