#!/usr/bin/env node
// `lqr`: the one command line. Each subcommand lives in ./commands/<name>.ts and
// exports `run(argv: string[]): Promise<number>` (the process exit code).
import { CliError } from './errors.js';

const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }> = {
  decode: { summary: 'decode DHCPv6 bytes (hex) and print each message as JSON', load: () => import('./commands/decode.js') },
  query: { summary: 'send a Leasequery (UDP, Bulk or Active) and print the answer', load: () => import('./commands/query.js') },
  lab: { summary: 'run lab DHCPv6 servers (lease DB + workload) answering leasequery', load: () => import('./commands/lab.js') },
  connector: { summary: 'stream binding changes from DHCPv6 servers (Active Leasequery) into Kafka', load: () => import('./commands/connector.js') },
  audit: { summary: 'as-of queries, binding history export and integrity checks over lq.events', load: () => import('./commands/audit.js') },
  replay: { summary: 're-emit a time range of lq.events to stdout (NDJSON) or another topic', load: () => import('./commands/replay.js') },
  replica: { summary: 'serve leasequery (UDP, Bulk, Active) and HTTP from a replica of lq.events', load: () => import('./commands/replica.js') },
  start: { summary: 'run everything (Kafka, lab DHCPv6 servers, connector, replica) until Ctrl-C', load: () => import('./commands/start.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return ['usage: lqr <command> [options]', '', 'commands:', ...lines, '', "run 'lqr <command> --help' for a command's options"].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`lqr: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const mod = await cmd.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`lqr: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`lqr: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
