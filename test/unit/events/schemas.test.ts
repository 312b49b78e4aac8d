import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allJsonSchemas } from '../../../src/tools/schemas.js';

// schemas/ is generated from the zod types (npm run build && npm run schemas);
// this fails when someone changes one without the other.
describe('schemas/ matches the zod schemas', () => {
  for (const [file, schema] of Object.entries(allJsonSchemas())) {
    it(file, () => {
      const committed: unknown = JSON.parse(readFileSync(new URL(`../../../schemas/${file}`, import.meta.url), 'utf8'));
      expect(committed, `schemas/${file} is stale: run npm run build && npm run schemas`).toEqual(JSON.parse(JSON.stringify(schema)));
    });
  }
});
