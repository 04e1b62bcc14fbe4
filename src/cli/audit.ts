import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerAudit({ program, setCode }: Registration): void {
  program.command('audit').description('(not built yet)').action(async () => setCode(await notYet('audit')));
}

