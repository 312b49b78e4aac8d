import { isAbsolute, relative } from 'node:path';

/** A path as shown to the person: relative to the current directory when inside it. */
export function displayPath(p: string, cwd = process.cwd()): string {
  const rel = relative(cwd, p);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}
