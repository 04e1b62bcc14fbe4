// Build step (`npm run build`): the man pages and completion scripts under dist/man and
// dist/completion, generated from the built CLI's command definitions and the JSON Schemas.
// SOURCE_DATE_EPOCH dates the pages (reproducible packages); otherwise today's date.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDocFiles } from '../src/cli/docs-files.js';

const epoch = process.env['SOURCE_DATE_EPOCH'];
const date = new Date(epoch ? Number(epoch) * 1000 : Date.now()).toISOString().slice(0, 10);
await writeDocFiles(join(dirname(fileURLToPath(import.meta.url)), '..'), date);
