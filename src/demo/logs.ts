// The components' JSON logs (pino) go to a file in the data directory rather than the
// terminal, which shows the human-readable progress and status instead. An observer
// sees every line too, so progress can follow what a library logs (the Kafka
// launcher's "resolving jars with Maven", for instance).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';
import type { Logger } from '../log.js';

export interface LogFile {
  readonly path: string;
  /** A logger for one component, writing to the file. */
  logger(name: string): Logger;
  /** Called with the `msg` and fields of every line logged through this file. */
  observe(fn: (name: string, msg: string, fields: Record<string, unknown>) => void): () => void;
  close(): void;
}

export function openLogFile(path: string, level = process.env.LQR_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info'): LogFile {
  mkdirSync(dirname(path), { recursive: true });
  let fd: number | undefined = openSync(path, 'a');
  const observers = new Set<(name: string, msg: string, fields: Record<string, unknown>) => void>();
  const stream = {
    write(line: string) {
      if (fd !== undefined) {
        try {
          writeSync(fd, line);
        } catch {
          // disk full or the file gone: the demo keeps running without its log
        }
      }
      if (observers.size === 0) return;
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        const msg = typeof j.msg === 'string' ? j.msg : '';
        const name = typeof j.name === 'string' ? j.name : '';
        for (const o of observers) o(name, msg, j);
      } catch {
        // not JSON: nothing to observe
      }
    },
  };
  return {
    path,
    logger: (name) => pino({ name, level, base: { pid: process.pid } }, stream),
    observe(fn) {
      observers.add(fn);
      return () => observers.delete(fn);
    },
    close() {
      if (fd === undefined) return;
      const f = fd;
      fd = undefined;
      try {
        closeSync(f);
      } catch {
        // already closed
      }
    },
  };
}
