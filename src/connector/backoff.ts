// Reconnection delays: exponential, capped, with jitter, so that hundreds of sessions
// whose server (or network) came back at the same moment do not reconnect in step.
import type { BackoffConfig } from '../config/index.js';

export class Backoff {
  private attempt = 0;

  constructor(
    private readonly cfg: BackoffConfig,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * The next delay: initialMs * multiplier^attempt, capped at maxMs, of which a
   * fraction `jitter` is randomized downwards (delay * (1 - jitter * U[0,1))).
   */
  next(): number {
    const { initialMs, maxMs, multiplier, jitter } = this.cfg;
    const base = Math.min(maxMs, initialMs * multiplier ** Math.min(this.attempt, 64));
    this.attempt++;
    return Math.max(0, Math.round(base * (1 - jitter * this.random())));
  }

  /** Attempts since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** Back to initialMs (called once a session reached its goal: live). */
  reset(): void {
    this.attempt = 0;
  }
}
