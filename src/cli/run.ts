import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerRun({ program, setCode }: Registration): void {
  program.command('run').description('(not built yet)').action(async () => setCode(await notYet('run')));
}

