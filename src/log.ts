// The project's logger: pino JSON lines on stderr (stdout stays clean for command output).
import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, bindings: Record<string, unknown> = {}): Logger {
  const level = process.env.LQR_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  return pino({ name, level, base: { pid: process.pid, ...bindings } }, pino.destination(2));
}

/** A logger that drops everything: the default for libraries used without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
