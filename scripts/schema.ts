/** Writes config.schema.json, the JSON Schema of CONFIG_FILE, from the zod schema (npm run schema). */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/file.js';

writeFileSync(new URL('../config.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
process.stdout.write('wrote config.schema.json\n');
