// Writes schemas/*.json from the zod schemas: `npm run schemas`.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { allJsonSchemas } from './schemas.js';

const out = process.argv[2] ?? 'schemas';
mkdirSync(out, { recursive: true });
for (const [file, schema] of Object.entries(allJsonSchemas())) {
  writeFileSync(join(out, file), JSON.stringify(schema, null, 2) + '\n');
  process.stdout.write(`wrote ${join(out, file)}\n`);
}
