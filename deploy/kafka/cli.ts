// `npm run kafka:up` / `npm run kafka:down` / `node dist/deploy/kafka/cli.js status`:
// a detached local broker for development, with its state under .kafka/ in the project.
//   up [--fresh]     start (or find running) and print the bootstrap address on stdout
//   down [--purge]   stop it (SIGTERM, SIGKILL after 30 s); --purge also deletes .kafka/data
//   status           print the state (exit 1 when not running)
import { createLogger } from '../../src/log.js';
import { KafkaLaunchError, cliDown, cliUp, isAlive, readCliState } from './launcher.js';

async function main(argv: string[]): Promise<number> {
  const [command = 'up', ...flags] = argv;
  const logger = createLogger('kafka-launcher');
  switch (command) {
    case 'up': {
      if (process.env.KAFKA_BROKERS) {
        process.stderr.write(`KAFKA_BROKERS is set (${process.env.KAFKA_BROKERS}): not starting a local broker\n`);
        process.stdout.write(`${process.env.KAFKA_BROKERS}\n`);
        return 0;
      }
      const t0 = Date.now();
      const { state, alreadyRunning } = await cliUp({ logger, fresh: flags.includes('--fresh') });
      const ms = Date.now() - t0;
      process.stderr.write(
        alreadyRunning
          ? `Kafka ${state.version} already running (pid ${state.pid})\n`
          : `Kafka ${state.version} ready in ${ms} ms (jars ${state.timings?.resolveMs} ms, format ${state.timings?.formatMs} ms, start ${state.timings?.readyMs} ms); pid ${state.pid}, log ${state.logFile}\n` +
              `export KAFKA_BROKERS=${state.brokers}\n`,
      );
      process.stdout.write(`${state.brokers}\n`);
      return 0;
    }
    case 'down': {
      const res = await cliDown({ purge: flags.includes('--purge') });
      process.stderr.write(
        res.stopped ? `Kafka broker (pid ${res.pid}) stopped${res.forced ? ' (SIGKILL after timeout)' : ''}\n` : 'no Kafka broker was running\n',
      );
      return 0;
    }
    case 'status': {
      const state = await readCliState();
      if (!state || !isAlive(state.pid)) {
        process.stderr.write('no Kafka broker running\n');
        return 1;
      }
      process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
      return 0;
    }
    default:
      process.stderr.write(`usage: kafka-cli up [--fresh] | down [--purge] | status\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof KafkaLaunchError) process.stderr.write(`error (${err.code}): ${err.message}\n`);
    else process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
