// The local broker launcher's failure modes and its watchdog. These need no broker
// of the run (each case fails before or right after starting a JVM of its own).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BrokerExitedError,
  JavaNotFoundError,
  MavenNotFoundError,
  PortInUseError,
  findJava,
  isAlive,
  launchLocalKafka,
  resolveKafkaJars,
  spawnWatched,
  startKafka,
} from '../../deploy/kafka/launcher.js';
import { eventually } from '../helpers/kafka.js';

const haveJava = (() => {
  try {
    findJava();
    return true;
  } catch {
    return false;
  }
})();

describe('launcher errors', () => {
  it('no Java: JavaNotFoundError', () => {
    expect(() => findJava({ PATH: '/nonexistent' })).toThrow(JavaNotFoundError);
  });

  it('no Maven and no cached jars: MavenNotFoundError', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'lqr-jars-'));
    try {
      await expect(resolveKafkaJars({ env: { PATH: '/nonexistent' }, jarCacheDir: cache })).rejects.toBeInstanceOf(MavenNotFoundError);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it.runIf(haveJava)('a busy port: PortInUseError naming it', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const err = await launchLocalKafka({ brokerPort: port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortInUseError);
      expect((err as PortInUseError).port).toBe(port);
    } finally {
      server.close();
    }
  });

  it.runIf(haveJava)('a broker that exits during start-up: BrokerExitedError with its log', async () => {
    // 1 MiB of heap is too little for the JVM to even start.
    const launching = await launchLocalKafka({ heapMb: 1 });
    try {
      const err = await launching.ready.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokerExitedError);
      // With a fresh data directory the JVM already dies in the storage-format step.
      expect(['BROKER_EXITED', 'FORMAT_FAILED']).toContain((err as BrokerExitedError).code);
      expect((err as BrokerExitedError).logTail).toMatch(/heap/i);
    } finally {
      await launching.stop();
    }
  }, 300_000);

  it('KAFKA_BROKERS set: nothing is started, that cluster is used', async () => {
    const kafka = await startKafka({ env: { KAFKA_BROKERS: ' 10.0.0.1:9092, 10.0.0.2:9092 ' } });
    expect(kafka.mode).toBe('external');
    expect(kafka.brokers).toBe('10.0.0.1:9092,10.0.0.2:9092');
    expect(kafka.pid).toBeUndefined();
    await kafka.stop();
  });
});

describe('watchdog', () => {
  it('stops the watched command and removes its directory when the parent process dies', async () => {
    // A stand-in "test runner" that we kill with SIGKILL (no exit handler can run).
    const parent = spawn('sleep', ['600'], { stdio: 'ignore' });
    const dir = mkdtempSync(join(tmpdir(), 'lqr-watchdog-'));
    const wrapper = spawnWatched('sleep', ['600'], { watchPid: parent.pid as number, cleanupDir: dir });
    const exited = new Promise<number | null>((r) => wrapper.once('exit', (code) => r(code)));
    try {
      await eventually(() => (isAlive(wrapper.pid as number) ? true : undefined), 10_000, 'wrapper running');
      parent.kill('SIGKILL');
      await exited;
      expect(isAlive(wrapper.pid as number)).toBe(false);
      // The whole process group (wrapper and the command) is gone.
      expect(isAlive(-(wrapper.pid as number))).toBe(false);
      expect(existsSync(dir)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
      try {
        process.kill(-(wrapper.pid as number), 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
});
