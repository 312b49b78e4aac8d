// Kafka over TLS with SASL (issue 8: "Kafka over TLS/SASL"). A broker of this file's own
// whose client listener is SASL_SSL (PEM keystore from a CA made here with openssl, SASL
// PLAIN users), reached through the same settings path the connector and the replica
// use (kafkaSettingsFromEnv: KAFKA_SSL_CA_FILE, KAFKA_SASL_*). Proves: a transactional
// produce and a read_committed read over it, a replica that rebuilds from it; a wrong
// password, a client without the CA and a plaintext client all fail with typed errors;
// the password never reaches the log.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJava, freePort, launchLocalKafka, type LaunchingKafka } from '../../deploy/kafka/launcher.js';
import { encodeEvent, type BindingEvent } from '../../src/events/index.js';
import { KafkaAdmin, TransactionalProducer, kafkaSettingsFromEnv, probeKafka, readToEnd, type KafkaSettings } from '../../src/kafka/index.js';
import { parseIPv6 } from '../../src/protocol/index.js';
import { Replica } from '../../src/replica/index.js';
import { oneAddressEvent } from '../../bench/lib.js';
import { waitForKafka } from '../helpers/kafka.js';

const haveTools = (() => {
  try {
    findJava();
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return process.env.KAFKA_BROKERS === undefined || process.env.KAFKA_BROKERS === '';
  } catch {
    return false;
  }
})();

const PASSWORD = 'lqr-tls-test-password-7f3a9c';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA and a broker certificate for 127.0.0.1 (PEM; the key unencrypted PKCS#8, as Kafka's PEM keystore takes it). */
function makePki(dir: string): { ca: string; keystore: string } {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=lqr test CA');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, 'x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '2', '-extfile', 'ext.cnf');
  openssl(dir, 'pkcs8', '-topk8', '-nocrypt', '-in', 'broker.key', '-out', 'broker.pk8');
  const keystore = join(dir, 'keystore.pem');
  writeFileSync(keystore, readFileSync(join(dir, 'broker.pk8'), 'utf8') + readFileSync(join(dir, 'broker.pem'), 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8'));
  return { ca: join(dir, 'ca.pem'), keystore };
}

function event(i: number, at: number): BindingEvent {
  const clientId = `000400000000000000000000000000${i.toString(16).padStart(4, '0')}`;
  return oneAddressEvent({ clientId, address: `2001:db8:1::${(0x100 + i).toString(16)}`, linkAddress: '2001:db8:1::1', source: 'tls-lab', at });
}

describe.runIf(haveTools)('Kafka over TLS with SASL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lqr-kafka-tls-'));
  let broker: LaunchingKafka | undefined;
  let brokers = '';
  let pki: { ca: string; keystore: string };
  const env = (over: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => ({
    KAFKA_BROKERS: brokers,
    KAFKA_SSL_CA_FILE: pki.ca,
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: 'lqr',
    KAFKA_SASL_PASSWORD: PASSWORD,
    ...over,
  });
  const settingsOf = (e: NodeJS.ProcessEnv): KafkaSettings => kafkaSettingsFromEnv(e, { clientId: 'lqr-tls-test' });

  beforeAll(async () => {
    await waitForKafka(); // the run's broker first: two JVMs do not start at once
    pki = makePki(dir);
    const port = await freePort();
    const jaas = `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_lqr="${PASSWORD}";`;
    broker = await launchLocalKafka({
      dataDir: join(dir, 'data'),
      brokerPort: port,
      controllerPort: await freePort(),
      heapMb: 384,
      brokerProperties: {
        // The client listener keeps its name and speaks SASL over TLS; the controller stays internal.
        'listener.security.protocol.map': 'PLAINTEXT:SASL_SSL,CONTROLLER:PLAINTEXT',
        'sasl.enabled.mechanisms': 'PLAIN',
        'sasl.mechanism.inter.broker.protocol': 'PLAIN',
        'listener.name.plaintext.plain.sasl.jaas.config': jaas,
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': pki.keystore,
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': pki.ca,
      },
      clientSettings: { ssl: { ca: readFileSync(pki.ca, 'utf8'), rejectUnauthorized: true }, sasl: { mechanism: 'plain', username: 'admin', password: 'admin-secret' } },
    });
    await broker.ready;
    brokers = broker.brokers;
  }, 240_000);

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('produces transactionally, reads read_committed, and a replica rebuilds from it; the password is never logged', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    const settings = settingsOf(env());
    expect(settings.ssl).toBeTruthy();
    expect(settings.sasl?.mechanism).toBe('plain');
    const topic = `tls-events-${process.pid}`;
    const admin = await KafkaAdmin.connect(settings, { logger });
    await admin.ensureTopics([{ name: topic, partitions: 3, replicationFactor: 1 }]);
    await admin.close();
    const producer = await TransactionalProducer.connect(settings, { transactionalId: `tls-test-${process.pid}`, logger });
    const at = Date.now();
    await producer.commitBatch(Array.from({ length: 50 }, (_, i) => ({ topic, ...encodeEvent(event(i, at)) })));
    await producer.settle();
    let seen = 0;
    const read = await readToEnd(settings, { topic, logger, timeoutMs: 60_000 }, (b) => {
      seen += b.messages.length;
    });
    expect(read.records).toBe(50);
    expect(seen).toBe(50);

    const replica = new Replica({ kafka: settings, topic, dataDir: join(dir, 'replica'), lagPollMs: 200, snapshotIntervalMs: 0, logger });
    await replica.start();
    try {
      await replica.whenReady();
      expect(replica.projection.stats().bindings).toBe(50);
      expect(replica.projection.byAddress(parseIPv6('2001:db8:1::100'))).toBeDefined();
    } finally {
      await replica.stop({ snapshot: false });
      await producer.disconnect();
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(PASSWORD);
  }, 120_000);

  it('refuses a wrong password, a client without the CA, and a plaintext client', async () => {
    const wrong = await probeKafka(settingsOf(env({ KAFKA_SASL_PASSWORD: 'not-the-password' })), { timeoutMs: 8_000 });
    expect(wrong.ok).toBe(false);
    expect(wrong.error).toMatch(/SASL|auth/i);
    const noCa = await probeKafka(settingsOf(env({ KAFKA_SSL_CA_FILE: undefined, KAFKA_SSL: '1' })), { timeoutMs: 8_000 });
    expect(noCa.ok).toBe(false);
    const plain = await probeKafka(settingsOf({ KAFKA_BROKERS: brokers }), { timeoutMs: 8_000 });
    expect(plain.ok).toBe(false);
  }, 60_000);
});
