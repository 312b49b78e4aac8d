// Whether an `lqr <command> ...` argument list is one the CLI accepts: the command's own
// run() is called with the arguments and `--help`. The commands parse strictly (an
// unknown or misused flag is a CliError) before they look at --help, and with --help they
// print their usage and do nothing else.
import { expect } from 'vitest';
import { runCaptured } from '../../../src/tools/gen-config-docs.js';

type CommandModule = { run(argv: string[]): Promise<number> };

const LOADERS: Record<string, () => Promise<CommandModule>> = {
  connector: () => import('../../../src/cli/commands/connector.js'),
  replica: () => import('../../../src/cli/commands/replica.js'),
  lab: () => import('../../../src/cli/commands/lab.js'),
  audit: () => import('../../../src/cli/commands/audit.js'),
  replay: () => import('../../../src/cli/commands/replay.js'),
  query: () => import('../../../src/cli/commands/query.js'),
  decode: () => import('../../../src/cli/commands/decode.js'),
};

/** Flags in an argument list ("--x" and "-x", without "=value"). */
export function flagsOf(args: string[]): string[] {
  return args.filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split('=')[0]);
}

/** The value after `flag` in `args`, if any. */
export function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * Asserts that `lqr ${argv.join(' ')}` parses: a known command, every flag accepted by
 * its parser and listed in its --help, and the port-like values valid numbers.
 */
export async function expectLqrAccepts(argv: string[], where: string): Promise<void> {
  const [command, ...args] = argv;
  const load = LOADERS[command];
  expect(load, `${where}: 'lqr ${command}' is not a command (known: ${Object.keys(LOADERS).join(', ')})`).toBeDefined();
  let result: { code: number; stdout: string };
  try {
    result = await runCaptured(await load(), [...args, '--help']);
  } catch (err) {
    throw new Error(`${where}: lqr ${argv.join(' ')} is refused by the CLI: ${(err as Error).message.split('\n')[0]}`);
  }
  expect(result.code, `${where}: lqr ${command} exited ${result.code}`).toBe(0);
  for (const flag of flagsOf(args)) {
    expect(result.stdout, `${where}: ${flag} is accepted but not in 'lqr ${command} --help'`).toContain(flag);
  }
  for (const [i, a] of args.entries()) {
    if (/^--.*port$/.test(a)) {
      const v = Number(args[i + 1]);
      expect(Number.isInteger(v) && v >= 0 && v <= 65535, `${where}: ${a} ${args[i + 1]} is not a port`).toBe(true);
    }
  }
}
