import { KnocktailError } from '../errors.js';

// Placeholder action for commands not built yet.
export async function notYet(name: string): Promise<never> {
  throw new KnocktailError('USAGE', `\`knocktail ${name}\` is not implemented yet`);
}
