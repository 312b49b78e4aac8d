// A small Prometheus registry (text exposition format 0.0.4) of our own rather than
// prom-client: the connector needs counters, gauges and histograms with labels and
// nothing else, the hot path is one Map lookup done once per label set (callers keep
// the bound child), and no dependency or default process collectors come with it.
//
//   const events = registry.counter('lqr_connector_events_total', 'Events received', ['source', 'type']);
//   const ev = events.labels('dhcp-a', 'binding');   // bind once
//   ev.inc();                                        // hot path: a number add

type LabelValues = readonly string[];

export interface CounterChild {
  inc(n?: number): void;
  readonly value: number;
}
export interface GaugeChild {
  set(v: number): void;
  inc(n?: number): void;
  dec(n?: number): void;
  readonly value: number;
}
export interface HistogramChild {
  observe(v: number): void;
  readonly count: number;
  readonly sum: number;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Family<C> {
  protected readonly children = new Map<string, { values: LabelValues; child: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name '${name}'`);
    for (const l of labelNames) if (!LABEL.test(l) || l === 'le') throw new Error(`invalid label name '${l}' of ${name}`);
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected abstract create(): C;
  protected abstract lines(labels: string, child: C, out: string[]): void;

  /** The child for these label values (created on first use; keep it for hot paths). */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    const key = values.join('\u0000');
    let e = this.children.get(key);
    if (!e) this.children.set(key, (e = { values: [...values], child: this.create() }));
    return e.child;
  }

  /** Forget one label set (e.g. a source removed from the configuration). */
  remove(...values: string[]): void {
    this.children.delete(values.join('\u0000'));
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    out.push(`# TYPE ${this.name} ${this.type}`);
    for (const { values, child } of this.children.values()) {
      const labels = values.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`).join(',');
      this.lines(labels, child, out);
    }
  }
}

class Counter extends Family<CounterChild> {
  readonly type = 'counter';
  protected create(): CounterChild {
    let value = 0;
    return {
      inc(n = 1) {
        if (n < 0) throw new Error('a counter only goes up');
        value += n;
      },
      get value() {
        return value;
      },
    };
  }
  protected lines(labels: string, c: CounterChild, out: string[]): void {
    out.push(`${this.name}${labels ? `{${labels}}` : ''} ${formatNumber(c.value)}`);
  }
}

class Gauge extends Family<GaugeChild> {
  readonly type = 'gauge';
  protected create(): GaugeChild {
    let value = 0;
    return {
      set(v) {
        value = v;
      },
      inc(n = 1) {
        value += n;
      },
      dec(n = 1) {
        value -= n;
      },
      get value() {
        return value;
      },
    };
  }
  protected lines(labels: string, g: GaugeChild, out: string[]): void {
    out.push(`${this.name}${labels ? `{${labels}}` : ''} ${formatNumber(g.value)}`);
  }
}

class Histogram extends Family<HistogramChild & { buckets: number[] }> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i] > bounds[i - 1])) throw new Error(`buckets of ${name} must increase`);
  }
  protected create(): HistogramChild & { buckets: number[] } {
    const bounds = this.bounds;
    const buckets = new Array<number>(bounds.length).fill(0);
    let count = 0;
    let sum = 0;
    return {
      buckets,
      observe(v) {
        count++;
        sum += v;
        // Non-cumulative here; render() accumulates.
        for (let i = 0; i < bounds.length; i++) {
          if (v <= bounds[i]) {
            buckets[i]++;
            break;
          }
        }
      },
      get count() {
        return count;
      },
      get sum() {
        return sum;
      },
    };
  }
  protected lines(labels: string, h: HistogramChild & { buckets: number[] }, out: string[]): void {
    const sep = labels ? `${labels},` : '';
    let acc = 0;
    this.bounds.forEach((b, i) => {
      acc += h.buckets[i];
      out.push(`${this.name}_bucket{${sep}le="${formatNumber(b)}"} ${acc}`);
    });
    out.push(`${this.name}_bucket{${sep}le="+Inf"} ${h.count}`);
    out.push(`${this.name}_sum${labels ? `{${labels}}` : ''} ${formatNumber(h.sum)}`);
    out.push(`${this.name}_count${labels ? `{${labels}}` : ''} ${h.count}`);
  }
}

export type { Counter, Gauge, Histogram };

/** Exponential bucket bounds: start, start*factor, ... (count of them). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v *= factor) out.push(Number(v.toPrecision(6)));
  return out;
}

export class Registry {
  private readonly families = new Map<string, Family<unknown>>();
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Run `fn` before each render (gauges computed on demand, e.g. queue depths). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** The text exposition format (Content-Type: text/plain; version=0.0.4). */
  render(): string {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const f of this.families.values()) f.render(out);
    return out.join('\n') + '\n';
  }

  private add<F extends Family<unknown>>(f: F): F {
    if (this.families.has(f.name)) throw new Error(`metric ${f.name} registered twice`);
    this.families.set(f.name, f);
    return f;
  }
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
