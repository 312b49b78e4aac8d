// Running the connector against lab DHCPv6 servers and the test run's Kafka broker,
// in-process: configuration for a set of labs with private topics, start/stop, and an
// "abandon" that simulates a crash (the producer is dropped without aborting its
// transaction, the sessions' sockets are destroyed, nothing is flushed).
import { resolveConnectorConfig, type ConnectorConfig, type ConnectorConfigInput } from '../../src/config/index.js';
import { createConnector, type Connector } from '../../src/connector/index.js';
import type { LabServer } from '../../src/lab/index.js';
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { Registry } from '../../src/metrics/index.js';
import { formatIPv6 } from '../../src/protocol/index.js';
import { kafkaBrokers, uniqueTopic } from './kafka.js';

export interface HarnessTopics {
  events: string;
  sources: string;
}

export function uniqueTopics(prefix = 'conn'): HarnessTopics {
  return { events: uniqueTopic(`${prefix}-events`), sources: uniqueTopic(`${prefix}-sources`) };
}

/** A source entry per lab server (named lab-0, lab-1, ... unless `names` says otherwise), scoped by its links. */
export function labSources(labs: readonly LabServer[], names?: string[]): NonNullable<ConnectorConfigInput['sources']> {
  return labs.map((lab, i) => {
    const addr = lab.addresses;
    if (!addr?.tcpPort) throw new Error(`lab server ${i} is not listening`);
    const links = lab.db.topology.links.map((l) => formatIPv6(l.linkAddress));
    return { name: names?.[i] ?? `lab-${i}`, host: addr.host, port: addr.tcpPort, scopes: { links } };
  });
}

/** A validated connector config on the run's broker with private topics. */
export function harnessConfig(input: Omit<ConnectorConfigInput, 'kafka' | 'id'> & { id?: string; topics: HarnessTopics; partitions?: number; brokers?: string }): ConnectorConfig {
  const { topics, partitions, brokers, ...rest } = input;
  return resolveConnectorConfig(
    {
      id: input.id ?? `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      metrics: { enabled: false },
      ...rest,
      session: { connectTimeoutMs: 2_000, backoff: { initialMs: 100, maxMs: 1_000 }, ...rest.session },
      kafka: {
        brokers: (brokers ?? kafkaBrokers()).split(','),
        clientId: 'lqr-test-connector',
        topics: { events: { name: topics.events, partitions: partitions ?? 3, replicationFactor: 1 }, sources: { name: topics.sources, replicationFactor: 1 } },
      },
    },
    { ...process.env, KAFKA_BROKERS: '' },
  );
}

export interface RunningConnector {
  connector: Connector;
  registry: Registry;
  /** Graceful stop. */
  stop(): Promise<void>;
}

export function startConnector(cfg: ConnectorConfig, logger: Logger = process.env.LQR_TEST_LOG ? createLogger('test-connector') : silentLogger): RunningConnector {
  const registry = new Registry();
  const connector = createConnector(cfg, { registry, logger });
  const done = connector.start();
  done.catch(() => undefined);
  return { connector, registry, stop: () => connector.stop() };
}

/** The value of one sample in a Prometheus text rendering (undefined when absent). */
export function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of registry.render().split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',');
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}
