import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerReplay({ program, setCode }: Registration): void {
  program.command('replay').description('(not built yet)').action(async () => setCode(await notYet('replay')));
}

