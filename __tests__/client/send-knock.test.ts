import { describe, expect, test } from '@jest/globals';
import { createSocket } from 'node:dgram';
import { sendKnock } from '../../src/client/send-knock.js';
import { RecordingRunner } from '../support/recording-runner.js';
import type { Step } from '../../src/model/door.js';

describe('sendKnock', () => {
  test('steps go out in order with the delay between them, and not before the first', async () => {
    const socket = createSocket('udp4');
    const seen: number[] = [];
    const events: string[] = [];
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const port = socket.address().port;
    const arrived = new Promise<void>((resolve) =>
      socket.on('message', () => {
        seen.push(seen.length);
        if (seen.length === 2) resolve();
      }),
    );
    const runner = new RecordingRunner().on(['ping'], { exitCode: 1 });
    const steps: Step[] = [{ proto: 'udp', port }, { proto: 'icmp' }, { proto: 'udp', port }];
    await sendKnock({ text: '127.0.0.1', family: 4 }, steps, {
      delayMs: 250,
      runner,
      sleep: (ms) => {
        events.push(`sleep ${ms}`);
        return Promise.resolve();
      },
      onSent: (step, index) => events.push(`sent ${index} ${step.proto}`),
    });
    await arrived;
    socket.close();
    expect(events).toEqual(['sent 0 udp', 'sleep 250', 'sent 1 icmp', 'sleep 250', 'sent 2 udp']);
    expect(runner.lines()).toEqual(['ping -4 -c 1 -W 1 -n 127.0.0.1']);
    expect(seen).toHaveLength(2);
  });

  test('a zero delay sends the steps back to back', async () => {
    const slept: number[] = [];
    const runner = new RecordingRunner().on(['ping'], { exitCode: 0 });
    await sendKnock({ text: '127.0.0.1', family: 4 }, [{ proto: 'icmp' }, { proto: 'icmp' }], {
      delayMs: 0,
      runner,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    expect(slept).toEqual([]);
    expect(runner.calls).toHaveLength(2);
  });
});
