// The one-line live status of `lqr start`: each source and its session state, the
// connector's event rate, the replica's bindings and lag.
import type { SourceStatus } from '../connector/index.js';
import type { Registry } from '../metrics/index.js';
import { count } from './console.js';

export interface StatusSample {
  at: number;
  sources: Pick<SourceStatus, 'name' | 'state' | 'lastError'>[];
  /** Events the connector has produced since it started (all sources, all types). */
  events: number;
  replica: { bindings: number; lag: number; ready: boolean; listening: boolean };
}

/** Sum of every sample of a counter in the registry's text rendering. */
export function sumCounter(registry: Registry, name: string): number {
  let total = 0;
  for (const line of registry.render().split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) total += v;
  }
  return total;
}

function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}

/** "09:41:07Z  lab-0 live, lab-1 live │ 38 events/s │ replica 1,000 bindings, lag 0 │ Ctrl-C stops" */
export function statusLine(now: StatusSample, prev: StatusSample | undefined): string {
  const sources = now.sources.map((s) => `${s.name} ${s.state}`).join(', ');
  const dt = prev ? (now.at - prev.at) / 1000 : 0;
  const rate = prev && dt > 0 ? Math.max(0, now.events - prev.events) / dt : undefined;
  const rateText = rate === undefined ? '… events/s' : `${rate < 10 ? rate.toFixed(1) : count(rate)} events/s`;
  const r = now.replica;
  const replica = `replica ${count(r.bindings)} bindings, lag ${count(r.lag)}${r.ready ? '' : ' (not ready)'}`;
  return `${clock(now.at)}Z  ${sources} │ ${rateText} │ ${replica}`;
}

/** Lines for sources whose state changed since the previous sample (shown above the status). */
export function stateChanges(now: StatusSample, prev: StatusSample | undefined): string[] {
  if (!prev) return [];
  const before = new Map(prev.sources.map((s) => [s.name, s.state]));
  const out: string[] = [];
  for (const s of now.sources) {
    const was = before.get(s.name);
    if (was !== undefined && was !== s.state) {
      out.push(`${clock(now.at)}Z  ${s.name}: ${was} -> ${s.state}${s.lastError && s.state === 'backing-off' ? ` (${s.lastError})` : ''}`);
    }
  }
  return out;
}
