// The resume point of one source: the OPTION_LQ_START_TIME of its next Active
// Leasequery (RFC 7653 section 8.3: "keep track of the highest base-time received ...
// place this highest base-time value into an OPTION_LQ_START_TIME").
//
// Rules (each one has a unit test):
// - Only base-times of the LIVE phase count. Until CatchUpComplete, the requestor "MUST
//   NOT keep track of the base-time" (RFC 7653 section 8.3): catch-up messages do not
//   represent the extent of progress. The session simply never calls observeLive() for
//   them.
// - While a recovery bulk (RFC 7653 section 8.3.1) is pending, the stored value does not
//   advance: the gap [start, DataMissing base-time] is not covered until the bulk
//   completes, and a crash in between must make the next session ask for it again. Live
//   base-times seen meanwhile are remembered and taken when the recovery completes.
// - A server clock stepped back (base-time lower than the highest by more than
//   `clockStepS`) restarts the tracking from the new value: keeping a "highest" value
//   from the server's old future would make the next catch-up skip every change until
//   the server's clock reaches it again.
// Values are DHCPv6 times in the SERVER's clock (seconds since 2000-01-01): never
// compared with or converted to the connector's clock.

export interface ResumeObservation {
  /** The value changed (a new checkpoint is worth writing). */
  advanced: boolean;
  /** The server's clock went back by more than clockStepS. */
  clockStepped: boolean;
}

export class ResumePoint {
  private stored: number | null;
  private latestLive: number | null = null;
  private recoveryPending = false;
  private steppedWhileFrozen = false;

  constructor(
    initial: number | null,
    private readonly clockStepS = 300,
  ) {
    this.stored = initial;
  }

  /** What a checkpoint records now; null before anything valid was received. */
  get value(): number | null {
    return this.stored;
  }

  get frozen(): boolean {
    return this.recoveryPending;
  }

  /** The OPTION_LQ_START_TIME to send: the value minus a safety margin (never below 0). */
  startTime(marginS: number): number | undefined {
    return this.stored === null ? undefined : Math.max(0, this.stored - marginS);
  }

  /** A base-time from a message of the live phase (binding, keepalive, CatchUpComplete). */
  observeLive(baseTime: number): ResumeObservation {
    let clockStepped = false;
    if (this.latestLive === null || baseTime > this.latestLive) this.latestLive = baseTime;
    else if (baseTime < this.latestLive - this.clockStepS) {
      this.latestLive = baseTime;
      clockStepped = true;
    }
    if (this.recoveryPending) {
      if (clockStepped) this.steppedWhileFrozen = true;
      return { advanced: false, clockStepped };
    }
    const next = clockStepped ? baseTime : this.stored === null ? baseTime : Math.max(this.stored, baseTime);
    const advanced = next !== this.stored;
    this.stored = next;
    return { advanced, clockStepped };
  }

  /**
   * The starting point of a session that had no resume point: B0, the lowest base-time
   * of an initial bulk load (everything changed before it is in the bulk answer).
   */
  setInitial(baseTime: number): void {
    this.stored = baseTime;
  }

  /** DataMissing: a recovery bulk is pending; the stored value stays until it completes. */
  freeze(): void {
    this.recoveryPending = true;
  }

  /** The recovery bulk completed: the gap is covered; live base-times seen meanwhile count. */
  thaw(): void {
    this.recoveryPending = false;
    if (this.latestLive !== null) {
      this.stored = this.stored === null || this.steppedWhileFrozen ? this.latestLive : Math.max(this.stored, this.latestLive);
    }
    this.steppedWhileFrozen = false;
  }

  /** A new connection: forget per-connection state (a pending recovery restarts from the stored value). */
  newConnection(): void {
    this.recoveryPending = false;
    this.steppedWhileFrozen = false;
    this.latestLive = null;
  }
}
