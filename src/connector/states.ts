// The states of a source session. One value at a time per source, logged on every
// change and exported as a one-hot gauge (lqr_connector_source_state).
//
//   connecting ──▶ initial-load ──▶ catch-up ──▶ live ◀──▶ recovering
//      ▲  (TCP, STARTTLS)  (no resume point)  (START given)      (DataMissing: bulk
//      │                                                          on a 2nd connection)
//      └──── backing-off ◀──── any error, LEASEQUERY-DONE, timeout, dropped connection
export const SESSION_STATES = ['connecting', 'initial-load', 'catch-up', 'live', 'recovering', 'backing-off', 'stopped'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** States in which a session with no progress for a while is not "stuck" but waiting on purpose. */
export const WAITING_STATES: ReadonlySet<SessionState> = new Set(['backing-off', 'stopped']);
