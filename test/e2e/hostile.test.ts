// A reduced hostile-input campaign (bench/hostile.ts) against `lqr lab` in a child
// process: garbage UDP/TCP/HTTP, slow-loris peers, connection floods and queries from
// outside the ACL, while a legitimate requestor keeps querying. Needs no Kafka (run it
// alone with LQR_TEST_KAFKA=off to skip starting the shared broker).
import { describe, expect, it } from 'vitest';
import { reportLines, runHostileCampaign } from '../../bench/hostile.js';
import { buildForChild } from '../helpers/build-child.js';

describe('hostile input against a lab server in another process', () => {
  it('stays up, bounded in memory, never amplifies towards outsiders, and keeps answering the legitimate requestor', async () => {
    const report = await runHostileCampaign({ lqrEntry: buildForChild('src/cli/lqr.ts'), durationMs: 8_000, udpRate: 800, slowLoris: 4, floodSize: 25, clients: 500, rateLimit: '300/s', rateBurst: 300 });
    for (const line of reportLines(report)) process.stdout.write(JSON.stringify(line) + '\n');

    expect(report.targetAlive).toBe(true);
    // Every kind of input was really thrown.
    for (const kind of ['udp-random', 'udp-mutated', 'udp-outsider-valid', 'udp-outsider-minimal', 'udp-outsider-mutated', 'udp-outsider-random', 'tcp-garbage', 'tcp-oversized-frame', 'tcp-slowloris', 'tcp-half-open', 'tcp-flood', 'tcp-outsider', 'http-bad-method', 'http-huge-header', 'http-slow-header', 'http-garbage']) {
      expect(report.inputs[kind] ?? 0, kind).toBeGreaterThan(0);
    }
    // No reply to an out-of-ACL requestor is larger than its query.
    expect(report.outsiderAmplified).toBe(0);
    expect(report.outsiderBytesOut).toBeLessThanOrEqual(report.outsiderBytesIn);
    // The legitimate requestor was served throughout, and at the end over UDP and TCP Bulk.
    expect(report.legitWrong).toBe(0);
    expect(report.legitAnswered).toBeGreaterThan(0);
    expect(report.legitAnswered / report.legitAttempted).toBeGreaterThan(0.9);
    expect(report.finalUdpOk).toBe(true);
    expect(report.finalBulkOk).toBe(true);
    // Memory stayed bounded.
    expect(report.rssPeakKiB).toBeLessThan(512 * 1024);
    // The engine saw it all and counted it.
    expect(report.engine.udpDenied).toBeGreaterThan(0);
    expect(report.engine.tcpDeniedByAcl).toBeGreaterThan(0);
    expect(report.engine.tcpRefusedPerPrefix).toBeGreaterThan(0);
    // Garbage reached the engine's TCP parser (the hogs did not take every slot), and the noisy UDP source was rate-limited.
    expect(report.engine.tcpProtocolErrors).toBeGreaterThan(0);
    expect(report.engine.udpRateLimited).toBeGreaterThan(0);
  }, 120_000);
});
