import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerRules({ program, setCode }: Registration): void {
  program.command('rules').description('(not built yet)').action(async () => setCode(await notYet('rules')));
}

export function registerSetup({ program, setCode }: Registration): void {
  program.command('setup').description('(not built yet)').action(async () => setCode(await notYet('setup')));
}

export function registerTeardown({ program, setCode }: Registration): void {
  program.command('teardown').description('(not built yet)').action(async () => setCode(await notYet('teardown')));
}

