// Compile a TypeScript entry point and everything it imports to JavaScript, for tests
// that run the real CLI as a child process (to SIGKILL it, for instance) without
// depending on `npm run build` or on dist/ being current. Files are transpiled one by
// one with the project's own TypeScript (no type check: `tsc --noEmit` does that),
// into node_modules/.cache/lqr-child-build/<hash>/, where Node finds the project's
// dependencies. The hash covers every source file, so a build is reused until a
// source changes.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every project file reachable from `entry` through relative imports (static and dynamic). */
function collect(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [resolve(ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imp of info.importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), imp.fileName.replace(/\.js$/, '.ts'));
      if (existsSync(target)) queue.push(target);
    }
  }
  return [...seen].sort();
}

/** Build `entry` (a path relative to the project root); returns the compiled entry's absolute path. */
export function buildForChild(entry = 'src/cli/lqr.ts'): string {
  const files = collect(entry);
  const hash = createHash('sha256');
  for (const f of files) hash.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  const outRoot = join(ROOT, 'node_modules', '.cache', 'lqr-child-build', hash.digest('hex').slice(0, 16));
  const outEntry = join(outRoot, entry.replace(/\.ts$/, '.js'));
  if (existsSync(join(outRoot, '.complete'))) return outEntry;
  const tmp = `${outRoot}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const f of files) {
    const out = ts.transpileModule(readFileSync(f, 'utf8'), {
      fileName: f,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
    });
    const dest = join(tmp, relative(ROOT, f).replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out.outputText);
  }
  writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
  writeFileSync(join(tmp, '.complete'), '');
  try {
    renameSync(tmp, outRoot);
  } catch {
    // Another worker built the same hash first.
    rmSync(tmp, { recursive: true, force: true });
  }
  return outEntry;
}
