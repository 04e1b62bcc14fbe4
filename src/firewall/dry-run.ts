// The dry-run backend under the short name replay imports it by.
export { DryRunBackend } from './dry-run-backend.js';
export type { DryRunOptions, DryRunVariant } from './dry-run-backend.js';
