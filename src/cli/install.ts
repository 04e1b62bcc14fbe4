import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerInstall({ program, setCode }: Registration): void {
  program.command('install').description('(not built yet)').action(async () => setCode(await notYet('install')));
}

