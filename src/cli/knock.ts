import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerKnock({ program, setCode }: Registration): void {
  program.command('knock').description('(not built yet)').action(async () => setCode(await notYet('knock')));
}

