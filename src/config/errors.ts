// Configuration errors that say where and what: every issue names the field by its
// path in the file ("sources[2].tls.caFile") and what is wrong with it, so a person can
// fix the file without reading the schema.
import type { z } from 'zod';

export interface ConfigIssue {
  /** Field path as written in the file, e.g. "sources[0].port"; "(root)" for the whole document. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly issues: ConfigIssue[],
    /** The file the configuration came from, when it came from one. */
    readonly file?: string,
  ) {
    super(formatIssues(issues, file));
    this.name = 'ConfigError';
  }
}

/** "sources[0].tls.caFile" from ["sources", 0, "tls", "caFile"]. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

function formatIssues(issues: ConfigIssue[], file?: string): string {
  const where = file ? `${file}: ` : '';
  if (issues.length === 1) return `${where}invalid configuration: ${issues[0].path}: ${issues[0].message}`;
  return [`${where}invalid configuration (${issues.length} problems):`, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join('\n');
}

/** zod's issues as ConfigIssues, prefixed with `prefix` (the section the schema was applied to). */
export function issuesFromZod(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: 'unknown field (check its spelling and where it is nested)' });
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) message = `required (${issue.expected} expected)`;
    out.push({ path: formatPath(path), message });
  }
  return out;
}
