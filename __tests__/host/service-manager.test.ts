import { describe, expect, test } from '@jest/globals';
import { notifyServiceManager } from '../../src/host/service-manager.js';
import { RecordingRunner } from '../support/recording-runner.js';

describe('notifyServiceManager', () => {
  const env = { NOTIFY_SOCKET: '/run/systemd/notify' };

  test('under Type=notify: READY=1 with a status line, STOPPING=1 at stop, through systemd-notify', async () => {
    const runner = new RecordingRunner();
    expect(await notifyServiceManager(runner, env, { ready: true, status: 'running: 2 doors' })).toBeUndefined();
    expect(await notifyServiceManager(runner, env, { stopping: true })).toBeUndefined();
    expect(runner.calls.map((call) => call.argv)).toEqual([
      ['systemd-notify', 'READY=1', 'STATUS=running: 2 doors'],
      ['systemd-notify', 'STOPPING=1'],
    ]);
  });

  test('without NOTIFY_SOCKET (no systemd, or Type=simple) nothing is run', async () => {
    const runner = new RecordingRunner();
    expect(await notifyServiceManager(runner, {}, { stopping: true })).toBeUndefined();
    expect(await notifyServiceManager(runner, { NOTIFY_SOCKET: '' }, { stopping: true })).toBeUndefined();
    expect(runner.calls).toEqual([]);
  });

  test('a failing or missing systemd-notify is a problem to log, not a crash', async () => {
    const failing = new RecordingRunner().on(['systemd-notify'], { exitCode: 1, stderr: 'No such socket\n' });
    expect(await notifyServiceManager(failing, env, { stopping: true })).toBe(
      'systemd-notify STOPPING=1 failed (exit 1): No such socket',
    );
    const missing = new RecordingRunner().on(['systemd-notify'], () => {
      throw new Error('systemd-notify is not installed');
    });
    expect(await notifyServiceManager(missing, env, { stopping: true })).toBe(
      'systemd-notify STOPPING=1 failed: systemd-notify is not installed',
    );
  });
});
