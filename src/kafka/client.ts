// The kafkajs client, built from KafkaSettings, with its logging routed into pino.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Kafka as KafkaClient, KafkaConfig, LogEntry, logCreator, logLevel as KafkaLogLevelT } from 'kafkajs';
import { Kafka, logLevel as KafkaLogLevel } from './kafkajs.js';
import { silentLogger, type Logger } from '../log.js';
import type { KafkaSettings } from './config.js';

/** kafkajs's level for a pino level: kafkajs never logs more than the pino logger would keep. */
function kafkajsLevelFor(logger: Logger): KafkaLogLevelT {
  switch (logger.level) {
    case 'silent':
      return KafkaLogLevel.NOTHING;
    case 'fatal':
    case 'error':
      return KafkaLogLevel.ERROR;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'info':
      return KafkaLogLevel.INFO;
    default:
      return KafkaLogLevel.DEBUG;
  }
}

/**
 * kafkajs logs every error response of every request at ERROR in its "Connection"
 * namespace, including the ones it retries as a matter of course (e.g.
 * CONCURRENT_TRANSACTIONS right after a commit, coordinator elections): those are
 * debug here, and so are the producer's and consumer's "failed, retrying" entries
 * (they carry a retryCount); a failure that matters reaches the caller as a typed error. The
 * warning about limited producer retries is expected too: the transactional
 * producer bounds its retries and re-initializes after a failed send (see producer.ts).
 */
function effectiveLevel(namespace: string, level: KafkaLogLevelT, message: string, extra: Record<string, unknown>): KafkaLogLevelT {
  if (namespace === 'Connection' && level === KafkaLogLevel.ERROR) return KafkaLogLevel.DEBUG;
  // "Failed to send messages: ..." with a retryCount: an attempt that kafkajs retries.
  if (level === KafkaLogLevel.ERROR && typeof extra.retryCount === 'number') return KafkaLogLevel.DEBUG;
  if (level === KafkaLogLevel.WARN && message.startsWith('Limiting retries for the idempotent producer')) return KafkaLogLevel.DEBUG;
  return level;
}

/**
 * A kafkajs logCreator writing into pino: one pino line per kafkajs entry, with its
 * namespace as `kafkajs` and its extra fields kept (kafkajs's own `timestamp` dropped).
 */
export function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log;
      const fields = { kafkajs: namespace, ...extra };
      switch (effectiveLevel(namespace, level, message, extra)) {
        case KafkaLogLevel.ERROR:
          logger.error(fields, message);
          break;
        case KafkaLogLevel.WARN:
          logger.warn(fields, message);
          break;
        case KafkaLogLevel.INFO:
          logger.info(fields, message);
          break;
        default:
          logger.debug(fields, message);
      }
    };
}

function sslOptions(ssl: KafkaSettings['ssl']): KafkaConfig['ssl'] {
  if (ssl === false) return undefined;
  if (ssl === true) return true;
  const out: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  const ca = ssl.ca ?? (ssl.caFile ? readFileSync(ssl.caFile, 'utf8') : undefined);
  if (ca) out.ca = [ca];
  return out;
}

export interface CreateKafkaOptions {
  logger?: Logger;
  /** Overrides settings.clientId (e.g. "lqr-connector-3"). */
  clientId?: string;
  /** kafkajs client-level retry (metadata, connections); producers/consumers add their own. */
  retries?: number;
  /** First retry delay of that client-level retry, ms (default 100). */
  initialRetryTimeMs?: number;
}

/** A kafkajs client for these settings. Only src/kafka calls this. */
export function createKafka(settings: KafkaSettings, opts: CreateKafkaOptions = {}): KafkaClient {
  const logger = (opts.logger ?? silentLogger).child({ component: 'kafkajs' });
  const config: KafkaConfig = {
    brokers: settings.brokers,
    clientId: opts.clientId ?? settings.clientId,
    ssl: sslOptions(settings.ssl),
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    logLevel: kafkajsLevelFor(logger),
    logCreator: pinoLogCreator(logger),
    retry: { retries: opts.retries ?? 8, initialRetryTime: opts.initialRetryTimeMs ?? 100, maxRetryTime: 5_000 },
  };
  const sasl = settings.sasl;
  if (sasl) {
    const { username, password } = sasl;
    switch (sasl.mechanism) {
      case 'plain':
        config.sasl = { mechanism: 'plain', username, password };
        break;
      case 'scram-sha-256':
        config.sasl = { mechanism: 'scram-sha-256', username, password };
        break;
      case 'scram-sha-512':
        config.sasl = { mechanism: 'scram-sha-512', username, password };
        break;
    }
  }
  return new Kafka(config);
}
