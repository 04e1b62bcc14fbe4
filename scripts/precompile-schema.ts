// Build step (`npm run build`): writes the precompiled config validator next to the built
// schema-validator.js, where compileSchemaCheck() looks for it.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { precompiledSchemaModule } from '../src/config/schema-precompile.js';
import { PRECOMPILED_FILE } from '../src/config/schema-validator.js';

const target = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'config', PRECOMPILED_FILE);
writeFileSync(target, precompiledSchemaModule());
