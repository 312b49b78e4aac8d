// Reading a configuration file (YAML, or JSON, which is YAML too) and validating it
// against a zod schema. Shared by every command that takes --config.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, issuesFromZod } from './errors.js';

/** The document in `file`, parsed but not validated. Syntax errors are ConfigErrors with line and column. */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '(root)', message: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }], file);
  }
  if (extname(file).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ConfigError([{ path: '(root)', message: `not valid JSON: ${(err as Error).message}` }], file);
    }
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return { path: pos ? `line ${pos.line}, column ${pos.col}` : '(root)', message: `YAML: ${e.message.split('\n')[0]}` };
    });
    throw new ConfigError(issues, file);
  }
  return doc.toJS() as unknown;
}

/** Validate `data` with `schema`; a ConfigError naming every problem's field path otherwise. */
export function parseConfig<S extends z.ZodType>(schema: S, data: unknown, file?: string): z.output<S> {
  const r = schema.safeParse(data ?? {});
  if (!r.success) throw new ConfigError(issuesFromZod(r.error), file);
  return r.data;
}
