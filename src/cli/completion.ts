import type { CommandAction } from './command-table.js';
import { completionScript, type ShellName } from './docs-files.js';

// `knocktail completion bash|zsh`: the completion script on stdout, for `source <(…)` or a
// file under bash-completion's or zsh's directory.
export const completion: CommandAction<[ShellName], Record<string, never>> = (ctx, [shell]) => {
  ctx.stdout.write(completionScript(shell));
  return Promise.resolve(0);
};
