import { describe, expect, jest, test } from '@jest/globals';
import type { InteractiveProcess, ProcessStarter } from '../../src/firewall/interactive-process.js';
import { IPSET_DIALECT, LineSession, NFT_DIALECT, restoreDialect } from '../../src/firewall/line-session.js';
import { SimulatedFirewall } from '../../src/firewall/simulated-firewall.js';

// A stand-in for `nft -i` that answers like the real one: errors and the marker's echo on stderr,
// delivered in awkward chunks. `mode` decides how it misbehaves.
class FakeNft implements ProcessStarter {
  readonly started: FakeProcess[] = [];
  mode: 'answer' | 'silent' | 'die' | 'throw' = 'answer';

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
    if (this.mode === 'throw') throw new Error('write EPIPE');
    if (this.mode === 'silent') return;
    if (this.mode === 'die') return void setImmediate(() => this.exit.forEach((fn) => fn()));
    let out = '';
    for (const line of text.split('\n').filter(Boolean)) {
      if (this.argv[0] === 'ipset') {
        const marker = /^create knocktail-sync (\S+)$/.exec(line);
        if (marker) out += `ipset v7.17: Syntax error: typename '${marker[1]}' is unknown\n`;
        else if (line.includes('nosuch')) out += 'ipset v7.17: The set with the given name does not exist\n';
      } else if (line.startsWith('knocktail-sync-'))
        out += `Error: syntax error, unexpected newline, expecting string\n${line}\n${' '.repeat(line.length)}^\n`;
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
    expect(
      await session.run([
        'add element inet knocktail door-ssh-v4 { 198.51.100.2 }',
        'delete element inet knocktail door-ssh-v4 { 198.51.100.2 }',
      ]),
    ).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(await session.run(['add table inet knocktail'])).toMatchObject({ exitCode: 0 });
    expect(nft.started).toHaveLength(1);
    expect(nft.started[0]!.argv).toEqual(['nft', '-i']);
    expect(nft.started[0]!.written[0]).toBe(
      'add element inet knocktail door-ssh-v4 { 198.51.100.2 }; delete element inet knocktail door-ssh-v4 { 198.51.100.2 }\nknocktail-sync-1\n',
    );
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
    const results = await Promise.all([
      session.run(['add table inet knocktail']),
      session.run(['delete element inet knocktail nosuch { 198.51.100.9 }']),
      session.run(['add table inet knocktail']),
    ]);
    expect(results.map((r) => r.exitCode)).toEqual([0, 1, 0]);
  });

  test('an idle session writes a request at once; one asked for meanwhile is written only after the answer', async () => {
    const nft = new FakeNft();
    const session = new LineSession(nft, NFT_DIALECT, { timeoutMs: 1000 });
    const first = session.run(['add table inet knocktail']);
    expect(nft.started[0]!.written).toHaveLength(1);
    const second = session.run(['delete element inet knocktail nosuch { 198.51.100.9 }']);
    const third = session.run(['add table inet knocktail']);
    await Promise.resolve();
    expect(nft.started[0]!.written).toHaveLength(1);
    expect((await first).exitCode).toBe(0);
    expect((await second).exitCode).toBe(1);
    expect((await third).exitCode).toBe(0);
    expect(nft.started[0]!.written.map((text) => text.split('\n')[0])).toEqual([
      'add table inet knocktail',
      'delete element inet knocktail nosuch { 198.51.100.9 }',
      'add table inet knocktail',
    ]);
    // Idle again: the next one goes out at once.
    void session.run(['add table inet knocktail']);
    expect(nft.started[0]!.written).toHaveLength(4);
  });

  test('a write that throws fails the request and drops the process at once; a request right after runs in a new one, and no timer of the failed one ends it', async () => {
    const nft = new FakeNft();
    const session = new LineSession(nft, NFT_DIALECT, { timeoutMs: 20 });
    nft.mode = 'throw';
    await expect(session.run(['add table inet knocktail'])).rejects.toThrow('write EPIPE');
    expect(nft.started[0]!.killed).toBe(true);
    // The next process answers only after the failed request's timeout would have passed.
    nft.mode = 'silent';
    const next = session.run(['add table inet knocktail']);
    expect(nft.started).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(nft.started[1]!.killed).toBe(false);
    const result = await next;
    // Ended by its own timer (20 ms after it was sent), not by the failed request's.
    expect(result).toMatchObject({ exitCode: 255, stderr: 'nft -i gave no answer within 20 ms' });
    nft.mode = 'answer';
    expect((await session.run(['add table inet knocktail'])).exitCode).toBe(0);
    expect(nft.started).toHaveLength(3);
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
    expect(await session.run(['-exist add knocktail-ssh-v4 198.51.100.2 timeout 60'])).toEqual({
      exitCode: 0,
      stdout: '',
      stderr: '',
    });
    const failed = await session.run(['-exist del nosuch 198.51.100.2']);
    expect(failed).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'ipset v7.17: The set with the given name does not exist',
    });
    expect(nft.started[0]!.argv).toEqual(['ipset', '-']);
    expect(nft.started[0]!.written[0]).toBe(
      '-exist add knocktail-ssh-v4 198.51.100.2 timeout 60\ncreate knocktail-sync knocktail-sync-1\n',
    );
  });
});

// `iptables-restore --noflush -v`: comment lines echoed on stdout, here in awkward chunks (split
// inside a line, several lines in one chunk), errors on stderr.
class FakeRestore implements ProcessStarter {
  readonly started: string[][] = [];

  start(): InteractiveProcess {
    const written: string[] = [];
    this.started.push(written);
    let stdout: (chunk: string) => void = () => undefined;
    let stderr: (chunk: string) => void = () => undefined;
    return {
      write: (text) => {
        written.push(text);
        const echoed = text
          .split('\n')
          .filter((line) => line.startsWith('#'))
          .map((line) => `${line}\n`)
          .join('');
        const out = `chatter before\n${echoed}`;
        if (text.includes('nosuch')) setImmediate(() => stderr(`iptables-restore: line 2 failed: -A nosuch\n`));
        setImmediate(() => stdout(out.slice(0, 5)));
        setImmediate(() => stdout(out.slice(5, out.length - 3)));
        setImmediate(() => stdout(out.slice(out.length - 3)));
      },
      onStderr: (fn) => {
        stderr = fn;
      },
      onStdout: (fn) => {
        stdout = fn;
      },
      onExit: () => undefined,
      kill: () => undefined,
      ref: () => undefined,
      unref: () => undefined,
    };
  }
}

describe('a line session with iptables-restore -v', () => {
  test('the echo of the marker on stdout answers the request, however stdout is chunked, with the errors stderr carried', async () => {
    const restore = new FakeRestore();
    const session = new LineSession(restore, restoreDialect(4), { timeoutMs: 1000 });
    expect(await session.run(['*filter\n-A KNOCKTAIL -j ACCEPT\nCOMMIT\n'])).toEqual({
      exitCode: 0,
      stdout: '',
      stderr: '',
    });
    expect(await session.run(['*filter\n-A nosuch\nCOMMIT\n'])).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'iptables-restore: line 2 failed: -A nosuch',
    });
    expect(restore.started[0]).toEqual([
      '*filter\n-A KNOCKTAIL -j ACCEPT\nCOMMIT\n# knocktail-sync-1\n',
      '*filter\n-A nosuch\nCOMMIT\n# knocktail-sync-2\n',
    ]);
  });

  test('against the simulated firewall each transaction is answered at once, and a failing one ends the process', async () => {
    const session = new LineSession(new SimulatedFirewall({ now: () => 0, chains: ['KNOCKTAIL'] }), restoreDialect(4), {
      timeoutMs: 1000,
    });
    expect(
      await session.run(['*filter\n-A KNOCKTAIL -j ACCEPT\nCOMMIT\n', '*filter\n-D KNOCKTAIL -j ACCEPT\nCOMMIT\n']),
    ).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(await session.run(['*filter\n-D KNOCKTAIL -j ACCEPT\nCOMMIT\n'])).toMatchObject({
      exitCode: 255,
      stderr: expect.stringContaining('Bad rule'),
    });
    expect(await session.run(['*filter\n-A KNOCKTAIL -j ACCEPT\nCOMMIT\n'])).toEqual({
      exitCode: 0,
      stdout: '',
      stderr: '',
    });
  });
});
