import type { Registration } from './program.js';
import { notYet } from './stub.js';

export function registerGrant({ program, setCode }: Registration): void {
  program.command('grant').description('(not built yet)').action(async () => setCode(await notYet('grant')));
}

export function registerRevoke({ program, setCode }: Registration): void {
  program.command('revoke').description('(not built yet)').action(async () => setCode(await notYet('revoke')));
}

export function registerStatus({ program, setCode }: Registration): void {
  program.command('status').description('(not built yet)').action(async () => setCode(await notYet('status')));
}

