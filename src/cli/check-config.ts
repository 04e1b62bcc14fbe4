import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerCheckConfig({ program, setCode }: Registration): void {
  program.command('check-config').description('(not built yet)').action(async () => setCode(await notYet('check-config')));
}

