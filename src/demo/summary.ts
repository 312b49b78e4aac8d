// What `lqr start` prints once everything is up: where each piece listens, and
// commands to paste (a leasequery, an HTTP lookup, ...) for an address that is bound
// right now.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoints } from './demo.js';
import { displayPath } from './paths.js';
import { hostPort, reachable } from './ports.js';

/**
 * How to run the command line from here: `npm run -s lqr --` in a checkout of the
 * project (also what `npm start` runs in), `lqr` when it is installed.
 */
export function lqrCommand(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.npm_lifecycle_event === 'start') return 'npm run -s lqr --';
  try {
    const pkg = join(cwd, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lq-replicator') return 'npm run -s lqr --';
  } catch {
    // not a checkout
  }
  return 'lqr';
}

/** Single quotes for a shell word, when it needs them ("[::1]:5480" does: a glob). */
function q(word: string): string {
  return /^[A-Za-z0-9_./:,=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function pad(label: string): string {
  return `  ${label.padEnd(20)}`;
}

/** Lines of the "ready" summary. The first line starts with "Ready", which scripts may wait for. */
export function summaryLines(e: Endpoints, readyMs: number, lqr = lqrCommand()): string[] {
  const out: string[] = [];
  out.push(`Ready in ${(readyMs / 1000).toFixed(1)} s. Everything below runs until Ctrl-C.`);
  out.push('');
  out.push(`${pad('Kafka')}${e.kafka.brokers}  ${e.kafka.description}; topics ${e.topics.events}, ${e.topics.sources}`);
  for (const [i, l] of e.labs.entries()) {
    const both = l.udpPort === l.tcpPort ? `${hostPort(l.host, l.udpPort)} UDP+TCP` : `UDP ${hostPort(l.host, l.udpPort)}, TCP ${hostPort(l.host, l.tcpPort)}`;
    const partner = e.labs[i === 0 ? 1 : 0]?.name;
    const role = `lab server${partner ? `, failover partner of ${partner}` : ''}`;
    out.push(`${pad(`${l.name} (DHCPv6)`)}${both}  ${role} (DUID ${l.serverDuid})`);
  }
  if (e.mode === 'config') {
    for (const s of e.connector.sources) out.push(`${pad(`source ${s.name}`)}${hostPort(s.host, s.port)} TCP  from ${e.configFile}`);
  }
  out.push(`${pad('connector')}${e.connector.metricsUrl ?? '(metrics off)'}  sessions to ${e.connector.sources.map((s) => s.name).join(', ')}; also /healthz, /readyz`);
  const r = e.replica;
  if (r.udpPort !== undefined && r.udpPort === r.tcpPort) out.push(`${pad('replica leasequery')}${hostPort(r.host, r.udpPort)} UDP+TCP  answers RFC 5007 UDP, Bulk and Active Leasequery`);
  else {
    if (r.udpPort !== undefined) out.push(`${pad('replica leasequery')}${hostPort(r.host, r.udpPort)} UDP`);
    if (r.tcpPort !== undefined) out.push(`${pad('replica leasequery')}${hostPort(r.host, r.tcpPort)} TCP`);
  }
  out.push(`${pad('replica HTTP')}${r.httpUrl}  /v1/bindings, /v1/status, /metrics, /readyz`);
  out.push(`${pad('state and logs')}${displayPath(e.dataDir)}  (log: ${displayPath(e.logFile)}; endpoints.json)`);
  out.push('');
  const udp = r.udpPort !== undefined ? q(hostPort(reachable(r.host), r.udpPort)) : undefined;
  const tcp = r.tcpPort !== undefined ? q(hostPort(reachable(r.host), r.tcpPort)) : undefined;
  const ex = e.example;
  if (ex) {
    out.push(`Try it: ${ex.address} is bound right now (client ${ex.clientId}, link ${ex.link}).`);
    out.push('Ask the replica, over UDP (RFC 5007) and over HTTP:');
    if (udp) out.push(`  ${lqr} query --server ${udp} --address ${ex.address}`);
    out.push(`  curl ${q(`${r.httpUrl}/v1/bindings?address=${ex.address}`)}`);
    if (tcp) {
      out.push('Every binding on that link (Bulk Leasequery, TCP), and the live change feed (Active Leasequery):');
      out.push(`  ${lqr} query --server ${tcp} --link ${ex.link}`);
      out.push(`  ${lqr} query --server ${tcp} --active --count 5`);
    }
    if (e.labs.length > 0) {
      out.push(`The same question to a source, lab server ${e.labs[0].name}:`);
      out.push(`  ${lqr} query --server ${q(hostPort(reachable(e.labs[0].host), e.labs[0].udpPort))} --address ${ex.address}`);
    }
    out.push('Who held it, from the event log (audit):');
    out.push(`  ${lqr} audit who --brokers ${e.kafka.brokers} --topic ${e.topics.events} --address ${ex.address} --at now`);
  } else {
    out.push('No bound address was found to show. Query the replica with:');
    if (udp) out.push(`  ${lqr} query --server ${udp} --address ADDRESS`);
    out.push(`  curl ${q(`${r.httpUrl}/v1/bindings?address=ADDRESS`)}`);
  }
  out.push('');
  return out;
}
