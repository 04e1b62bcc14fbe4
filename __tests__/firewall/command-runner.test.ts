import { describe, expect, test } from '@jest/globals';
import { ExecaRunner } from '../../src/firewall/command-runner.js';
import { RecordingRunner } from '../support/recording-runner.js';

describe('ExecaRunner', () => {
  test('a non-zero exit is returned with its output, not thrown', async () => {
    const result = await new ExecaRunner().run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  test('stdin input reaches the command', async () => {
    const result = await new ExecaRunner().run(['cat'], { input: 'add element\n' });
    expect(result.stdout).toBe('add element\n');
  });

  test('arguments are passed as they are, never through a shell', async () => {
    const result = await new ExecaRunner().run(['printf', '%s', '$(id) ; rm -rf /']);
    expect(result.stdout).toBe('$(id) ; rm -rf /');
  });

  test('a missing binary is a BINARY_MISSING error that names the package to install', async () => {
    const run = new ExecaRunner({ env: { PATH: '/nonexistent' } }).run(['nft', 'list', 'ruleset']);
    await expect(run).rejects.toMatchObject({ code: 'BINARY_MISSING', message: expect.stringContaining('nftables') });
  });
});

describe('RecordingRunner', () => {
  test('it records argv and input and answers from its script, first match first', async () => {
    const runner = new RecordingRunner()
      .on(['iptables', '-w', '-C'], { exitCode: 1 }, 1)
      .on(['iptables'], { stdout: 'ok' });
    expect((await runner.run(['iptables', '-w', '-C', 'X'])).exitCode).toBe(1);
    expect(await runner.run(['iptables', '-w', '-C', 'X'])).toEqual({ exitCode: 0, stdout: 'ok', stderr: '' });
    await runner.run(['nft', '-f', '-'], { input: 'flush ruleset' });
    expect(runner.lines()).toEqual(['iptables -w -C X', 'iptables -w -C X', 'nft -f -']);
    expect(runner.calls[2]).toEqual({ argv: ['nft', '-f', '-'], input: 'flush ruleset' });
  });
});
