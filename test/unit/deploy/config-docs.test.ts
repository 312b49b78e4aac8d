import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configRows, renderConfigurationDocs } from '../../../src/tools/gen-config-docs.js';

// docs/configuration.md is generated from the zod schemas and the commands' --help
// (npm run build && npm run docs:config); this fails when someone changes one without
// regenerating the other.
describe('docs/configuration.md', () => {
  it('matches the schemas and the CLI (regenerate: npm run build && npm run docs:config)', async () => {
    const committed = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed, 'docs/configuration.md is stale: run npm run build && npm run docs:config').toBe(await renderConfigurationDocs());
  });

  it('describes every field', () => {
    const { connector, kafka } = configRows();
    const missing = [...connector, ...kafka].filter((r) => r.description.trim() === '').map((r) => r.path);
    expect(missing, 'fields without a description: add .describe() to the zod schema (or KAFKA_DESCRIPTIONS for src/kafka)').toEqual([]);
  });

  it('documents every field of the example connector configuration', () => {
    const { connector, kafka } = configRows();
    const paths = new Set([...connector, ...kafka].map((r) => r.path));
    for (const p of ['id', 'sources[].tls.caFile', 'sources[].scopes.links', 'batch.maxEvents', 'kafka.topics.events.partitions', 'kafka.sasl.mechanism']) expect(paths).toContain(p);
  });
});
