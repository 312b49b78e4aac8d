// The connector's metrics (Prometheus names lqr_connector_*). Per source: state,
// events, bytes, reconnects, catch-ups, DataMissing recoveries, clock offset and
// receive lag; for the publisher: batch sizes, transaction latency, commit delay.
import { exponentialBuckets, type CounterChild, type GaugeChild, type HistogramChild, type Registry } from '../metrics/index.js';
import { SESSION_STATES, type SessionState } from './states.js';

export interface SourceMetrics {
  setState(s: SessionState): void;
  /** One event written by the session (binding by phase, or source event by kind). */
  event(type: string): void;
  /** CLIENT_DATA bytes received. */
  bytes(n: number): void;
  reconnect(reason: string): void;
  catchUp(): void;
  dataMissing(): void;
  recovery(outcome: 'ok' | 'failed'): void;
  /** receivedAt - unixMs(baseTime) of a live message, ms. */
  clockSample(offsetMs: number): void;
}

export interface PublisherMetrics {
  transaction(outcome: 'committed' | 'failed', seconds: number, events: number, bytes: number): void;
  /** Connector clock from a message's arrival to the commit of its event, seconds. */
  commitDelay(seconds: number): void;
  queueDepth(source: string, used: number): void;
  epochRestart(reason: string): void;
}

/**
 * The server clock's offset seen from the connector is estimated as the smallest
 * receivedAt - baseTime over the last two windows (network and queueing only ever add
 * to it; base-times are whole seconds, so the estimate is up to 1 s low). The receive
 * lag is each sample minus that estimate: delivery delay with the skew taken out.
 */
class OffsetEstimator {
  private current = Infinity;
  private previous = Infinity;
  private startedAt = 0;
  constructor(private readonly windowMs = 300_000) {}
  sample(offsetMs: number, now: number): number {
    if (now - this.startedAt > this.windowMs) {
      this.previous = this.current;
      this.current = Infinity;
      this.startedAt = now;
    }
    if (offsetMs < this.current) this.current = offsetMs;
    return Math.min(this.current, this.previous);
  }
}

const noop = () => undefined;

export const noopSourceMetrics: SourceMetrics = {
  setState: noop,
  event: noop,
  bytes: noop,
  reconnect: noop,
  catchUp: noop,
  dataMissing: noop,
  recovery: noop,
  clockSample: noop,
};

/** Sharing the sources (a consumer group of connectors): what this instance owns and how it got it. */
export interface SharingMetrics {
  /** Slots this instance owns (the group's assignment), and the configured sources in them. */
  assigned(slots: number, sources: number): void;
  /** A group join (each one is a rebalance this instance took part in). */
  rebalance(): void;
  /** Slots that came to (in) or left (out) this instance. */
  moved(direction: 'in' | 'out', n: number): void;
  /** From receiving a slot to its sessions starting (producer initialized, checkpoints read). */
  slotStart(seconds: number): void;
  /** From the newest checkpoint a previous owner committed in the slot to its sessions starting here. */
  takeoverGap(seconds: number): void;
  /** A slot's producer was fenced by another holder of its transactional id. */
  fenced(): void;
}

export const noopPublisherMetrics: PublisherMetrics = { transaction: noop, commitDelay: noop, queueDepth: noop, epochRestart: noop };

export class ConnectorMetrics {
  private readonly state;
  private readonly events;
  private readonly bytesTotal;
  private readonly reconnects;
  private readonly catchUps;
  private readonly dataMissingTotal;
  private readonly recoveries;
  private readonly clockOffset;
  private readonly lag;
  private readonly txSeconds;
  private readonly txTotal;
  private readonly batchEvents;
  private readonly batchBytes;
  private readonly delay: HistogramChild;
  private readonly depth;
  private readonly epochs;
  private readonly registry: Registry;

  constructor(
    registry: Registry,
    private readonly clock: () => number = Date.now,
  ) {
    this.state = registry.gauge('lqr_connector_source_state', 'Session state of each source (1 for the current state)', ['source', 'state']);
    this.events = registry.counter('lqr_connector_events_total', 'Events produced per source: bindings by phase, source events by kind', ['source', 'type']);
    this.bytesTotal = registry.counter('lqr_connector_received_bytes_total', 'OPTION_CLIENT_DATA bytes received per source', ['source']);
    this.reconnects = registry.counter('lqr_connector_reconnects_total', 'Sessions ended and retried, by reason class', ['source', 'reason']);
    this.catchUps = registry.counter('lqr_connector_catch_ups_total', 'Active Leasequeries sent with OPTION_LQ_START_TIME', ['source']);
    this.dataMissingTotal = registry.counter('lqr_connector_data_missing_total', 'DataMissing answers (RFC 7653 section 8.3.1)', ['source']);
    this.recoveries = registry.counter('lqr_connector_recoveries_total', 'Recovery bulk leasequeries after DataMissing, by outcome', ['source', 'outcome']);
    this.clockOffset = registry.gauge('lqr_connector_clock_offset_seconds', "Estimated server clock offset: receivedAt - baseTime (connector minus server clock), minimum over recent live messages", ['source']);
    this.lag = registry.histogram('lqr_connector_receive_lag_seconds', 'Live message delay: receivedAt - baseTime minus the clock offset estimate', ['source'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]);
    this.txSeconds = registry.histogram('lqr_connector_transaction_seconds', 'Kafka transaction latency (send + commit)', [], exponentialBuckets(0.001, 2, 16));
    this.txTotal = registry.counter('lqr_connector_transactions_total', 'Kafka transactions by outcome', ['outcome']);
    this.batchEvents = registry.histogram('lqr_connector_batch_events', 'Events per Kafka transaction', [], exponentialBuckets(1, 4, 10));
    this.batchBytes = registry.histogram('lqr_connector_batch_bytes', 'Record value bytes per Kafka transaction', [], exponentialBuckets(1024, 4, 10));
    this.delay = registry.histogram('lqr_connector_commit_delay_seconds', 'From a message arriving to its event being committed', [], exponentialBuckets(0.001, 2, 16)).labels();
    this.depth = registry.gauge('lqr_connector_queue_events', 'Events queued or in flight per source (bounded by batch.sourceQueue)', ['source']);
    this.epochs = registry.counter('lqr_connector_restarts_total', 'Crash-only restarts of every session after a Kafka failure', ['reason']);
    this.registry = registry;
  }

  /** Metrics of sharing (registered only when sharing is on). */
  sharing(): SharingMetrics {
    const r = this.registry;
    const slots = r.gauge('lqr_connector_assigned_slots', 'Work slots (partitions of lq.sources) this instance owns', []).labels();
    const sources = r.gauge('lqr_connector_assigned_sources', 'Configured sources in the work slots this instance owns', []).labels();
    const rebalances = r.counter('lqr_connector_rebalances_total', 'Consumer-group joins (rebalances) of this instance', []).labels();
    const moved = r.counter('lqr_connector_slots_moved_total', 'Work slots that came to (in) or left (out) this instance', ['direction']);
    const start = r.histogram('lqr_connector_slot_start_seconds', 'From receiving a work slot to its sessions starting (producer initialized, checkpoints read)', [], exponentialBuckets(0.01, 2, 14)).labels();
    const gap = r.histogram('lqr_connector_takeover_gap_seconds', "From the newest checkpoint the slot's previous owner committed to its sessions starting here (under load: how long the slot went unserved)", [], exponentialBuckets(0.1, 2, 12)).labels();
    const fenced = r.counter('lqr_connector_slot_fenced_total', "Work slots whose producer another holder of the slot's transactional id fenced", []).labels();
    return {
      assigned: (n, m) => {
        slots.set(n);
        sources.set(m);
      },
      rebalance: () => rebalances.inc(),
      moved: (direction, n) => moved.labels(direction).inc(n),
      slotStart: (s) => start.observe(s),
      takeoverGap: (s) => gap.observe(s),
      fenced: () => fenced.inc(),
    };
  }

  forSource(source: string): SourceMetrics {
    const states = new Map<SessionState, GaugeChild>(SESSION_STATES.map((s) => [s, this.state.labels(source, s)]));
    const eventChildren = new Map<string, CounterChild>();
    const bytes = this.bytesTotal.labels(source);
    const catchUps = this.catchUps.labels(source);
    const dm = this.dataMissingTotal.labels(source);
    const offset = this.clockOffset.labels(source);
    const lag = this.lag.labels(source);
    const estimator = new OffsetEstimator();
    const clock = this.clock;
    let current: SessionState | undefined;
    return {
      setState: (s) => {
        if (current !== undefined) states.get(current)?.set(0);
        // A new session of the same source (next epoch, or a slot that came back) starts
        // from whatever the previous one left: make the gauge one-hot again.
        else for (const [k, child] of states) if (k !== s) child.set(0);
        states.get(s)?.set(1);
        current = s;
      },
      event: (type) => {
        let c = eventChildren.get(type);
        if (!c) eventChildren.set(type, (c = this.events.labels(source, type)));
        c.inc();
      },
      bytes: (n) => bytes.inc(n),
      reconnect: (reason) => this.reconnects.labels(source, reason).inc(),
      catchUp: () => catchUps.inc(),
      dataMissing: () => dm.inc(),
      recovery: (outcome) => this.recoveries.labels(source, outcome).inc(),
      clockSample: (offsetMs) => {
        const est = estimator.sample(offsetMs, clock());
        offset.set(est / 1000);
        lag.observe(Math.max(0, offsetMs - est) / 1000);
      },
    };
  }

  publisher(): PublisherMetrics {
    const committed = this.txTotal.labels('committed');
    const failed = this.txTotal.labels('failed');
    const tx = this.txSeconds.labels();
    const be = this.batchEvents.labels();
    const bb = this.batchBytes.labels();
    return {
      transaction: (outcome, seconds, events, bytes) => {
        (outcome === 'committed' ? committed : failed).inc();
        tx.observe(seconds);
        if (outcome === 'committed') {
          be.observe(events);
          bb.observe(bytes);
        }
      },
      commitDelay: (s) => this.delay.observe(s),
      queueDepth: (source, used) => this.depth.labels(source).set(used),
      epochRestart: (reason) => this.epochs.labels(reason).inc(),
    };
  }
}
