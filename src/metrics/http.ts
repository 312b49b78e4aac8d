// The operations endpoint of a long-running process:
//   GET /metrics  Prometheus text format
//   GET /healthz  200 while the process should keep running (else 503: restart it)
//   GET /readyz   200 when it does its job now (else 503 with the reasons)
// Both probes answer JSON {"ok": bool, ...details} so a person can read why.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTENT_TYPE, type Registry } from './registry.js';

export interface ProbeResult {
  ok: boolean;
  [detail: string]: unknown;
}

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  health: () => ProbeResult;
  ready: () => ProbeResult;
}

export interface OpsServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    try {
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(opts.registry.render());
      } else if (path === '/healthz' || path === '/readyz') {
        const r = path === '/healthz' ? opts.health() : opts.ready();
        res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(r) + '\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics, /healthz or /readyz\n');
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`);
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    host: opts.host,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
