// `lqr connector --config FILE`: Active Leasequery sessions to the configured DHCPv6
// servers, their binding updates into Kafka (lq.events, lq.sources).
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { ConfigError, loadConnectorConfig, redactSecrets, type ConnectorConfig } from '../../config/index.js';
import { createConnector, sharingGroupIdOf, slotTransactionalIdOf, transactionalIdOf } from '../../connector/index.js';
import { ProducerFencedError } from '../../kafka/index.js';
import { createLogger } from '../../log.js';
import { Registry, startOpsServer, type OpsServer } from '../../metrics/index.js';
import { CliError } from '../errors.js';

const USAGE = `usage: lqr connector --config FILE [--print-config]

Keeps an Active Leasequery (RFC 7653) session open to every configured DHCPv6 server
and writes every binding change to Kafka (lq.events), with each server's resume point
(lq.sources) in the same transaction. Runs until SIGINT/SIGTERM. With a \`sharing:\`
section, the instances of one group divide the sources among themselves through a
Kafka consumer group (docs/connector.md, "Sharing the sources").

  -c, --config FILE   connector configuration (YAML or JSON); see
                      deploy/examples/connector.yaml
      --print-config  print the effective configuration (defaults filled in, KAFKA_*
                      environment applied, secrets redacted) and exit
  -h, --help          show this help

Environment: KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL_* ... override the file's kafka:
section; LQR_LOG_LEVEL (default info) sets the log level.`;

function loadConfig(file: string): ConnectorConfig {
  try {
    return loadConnectorConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, 'print-config': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    throw new CliError(`connector: ${(err as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.config) throw new CliError(`connector: --config FILE is required\n\n${USAGE}`);
  const cfg = loadConfig(values.config);
  if (values['print-config']) {
    const ids = cfg.sharing
      ? { consumerGroup: sharingGroupIdOf(cfg.sharing.group), transactionalIds: slotTransactionalIdOf(cfg.sharing.group, 0).replace(/0$/, `<slot 0..${cfg.sharing.slots - 1}>`) }
      : { transactionalId: transactionalIdOf(cfg.id) };
    process.stdout.write(stringify(redactSecrets({ ...cfg, ...ids })));
    return 0;
  }

  const logger = createLogger('lqr-connector', { connector: cfg.id });
  const registry = new Registry();
  const connector = createConnector(cfg, { registry, logger });
  let ops: OpsServer | undefined;
  if (cfg.metrics.enabled) {
    ops = await startOpsServer({ host: cfg.metrics.host, port: cfg.metrics.port, registry, health: () => connector.health(), ready: () => connector.ready() });
    logger.info({ host: ops.host, port: ops.port }, 'metrics and probes listening (/metrics, /healthz, /readyz)');
  }
  if (cfg.sharing) {
    logger.info({ sources: cfg.sources.length, group: sharingGroupIdOf(cfg.sharing.group), slots: cfg.sharing.slots, brokers: cfg.kafka.brokers }, 'connector starting (sharing the sources)');
  } else {
    logger.info({ sources: cfg.sources.length, transactionalId: transactionalIdOf(cfg.id), brokers: cfg.kafka.brokers }, 'connector starting');
  }

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal: sig }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal: sig }, 'stopping (finishing the current transaction; a second signal exits at once)');
    void connector.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await connector.start();
    logger.info('connector stopped');
    return 0;
  } catch (err) {
    if (err instanceof ProducerFencedError) {
      logger.fatal({ err: err.message }, 'fenced: another connector with the same id is running');
      process.stderr.write(`lqr connector: ${err.message}\n(another instance with connector id '${cfg.id}' took over; each running connector needs its own id)\n`);
      return 3;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ops?.close();
  }
}
