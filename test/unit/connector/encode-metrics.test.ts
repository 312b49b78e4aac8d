// linkAndEncode is linkEvent + encodeEvent with one serialization; the Prometheus
// registry's text format.
import { describe, expect, it } from 'vitest';
import { decodeEvent, emptyChainHead, encodeEvent, linkEvent, normalizeClientData, verifyLink } from '../../../src/events/index.js';
import { linkAndEncode } from '../../../src/connector/index.js';
import { Registry } from '../../../src/metrics/index.js';
import { murmur2, partitionForKey as partitionOf } from '../../../src/kafka/index.js';
import { clientData } from './fakes.js';

describe('linkAndEncode', () => {
  it('gives the bytes of linkEvent + encodeEvent, and decodes into an event whose link verifies', () => {
    const mk = () => normalizeClientData(clientData(7, { link: 3 }), undefined, { source: { name: 's', serverDuid: 'ab' }, phase: 'live', baseTime: 800_000_000, receivedAt: 1_700_000_000_123 });
    let head = emptyChainHead();
    let ref = emptyChainHead();
    for (let i = 0; i < 3; i++) {
      const a = mk();
      const b = mk();
      const enc = linkAndEncode(a, head);
      ref = linkEvent(b, ref);
      const expected = encodeEvent(b);
      expect(enc.value.equals(expected.value)).toBe(true);
      expect(enc.key).toBe(expected.key);
      expect(enc.headers).toEqual(expected.headers);
      expect(enc.head).toEqual(ref);
      expect(verifyLink(decodeEvent(enc.value))).toBe(true);
      head = enc.head;
    }
  });
});

describe('partitionOf', () => {
  it("is Kafka's murmur2 (the Java client's Utils.murmur2 test vectors) made positive, modulo the partition count", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of vectors) expect(murmur2(Buffer.from(s))).toBe(h);
    expect(partitionOf('foobar', 12)).toBe((-790332482 & 0x7fffffff) % 12);
  });
});

describe('Registry', () => {
  it('renders counters, gauges and cumulative histograms in the text format', () => {
    const r = new Registry();
    const c = r.counter('x_total', 'Things', ['source']);
    c.labels('a"b\\c\n').inc(2);
    r.gauge('g', 'A gauge').labels().set(-1.5);
    const h = r.histogram('h_seconds', 'Latency', ['k'], [0.1, 1]);
    const hk = h.labels('v');
    hk.observe(0.05);
    hk.observe(0.5);
    hk.observe(5);
    expect(r.render()).toBe(
      [
        '# HELP x_total Things',
        '# TYPE x_total counter',
        'x_total{source="a\\"b\\\\c\\n"} 2',
        '# HELP g A gauge',
        '# TYPE g gauge',
        'g -1.5',
        '# HELP h_seconds Latency',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{k="v",le="0.1"} 1',
        'h_seconds_bucket{k="v",le="1"} 2',
        'h_seconds_bucket{k="v",le="+Inf"} 3',
        'h_seconds_sum{k="v"} 5.55',
        'h_seconds_count{k="v"} 3',
        '',
      ].join('\n'),
    );
    expect(() => c.labels()).toThrow(/takes 1 label values/);
    expect(() => r.counter('x_total', 'again')).toThrow(/registered twice/);
  });
});
