// The replica's HTTP API behind TLS, mTLS and a bearer token (src/replica/http-security.ts),
// with certificates made by openssl in a temporary directory.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKafkaSettings } from '../../../src/kafka/index.js';
import { Registry } from '../../../src/metrics/index.js';
import { HttpSecurityError, MIN_TOKEN_LENGTH, TOKEN_ENV, bearerMatches, createApiServer, loadHttpSecurity, type HttpSecurityConfig } from '../../../src/replica/http-security.js';
import { Replica, startReplicaHttp, type ReplicaHttp } from '../../../src/replica/index.js';
import { redactSecrets } from '../../../src/config/redact.js';
import { makePki, type TestPki } from '../leasequery/certs.js';
import { createHash } from 'node:crypto';

const TOKEN = 'test-token-0123456789abcdef';

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, opts: https.RequestOptions = {}): Promise<Res> {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ...opts, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function tempDir(): Promise<string> {
  return mkdtempSync(join(tmpdir(), 'lqr-http-sec-'));
}

/** A replica that cannot reach its broker: not ready, but its HTTP API runs. */
async function startReplica(security: HttpSecurityConfig | undefined, logger?: pino.Logger): Promise<{ replica: Replica; http: ReplicaHttp }> {
  const kafka = parseKafkaSettings({ brokers: ['127.0.0.1:1'], connectionTimeoutMs: 300, requestTimeoutMs: 500 });
  const replica = new Replica({ kafka, topic: 'lq.events', dataDir: await tempDir(), udpPort: 0, tcpPort: 0, backoffMinMs: 50, backoffMaxMs: 200 });
  await replica.start();
  const httpServer = await startReplicaHttp({ replica, port: 0, security, logger });
  return { replica, http: httpServer };
}

describe('loadHttpSecurity', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lqr-http-sec-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the token from a file (trailing newline dropped) or from LQR_HTTP_TOKEN; the file wins', () => {
    const f = join(dir, 'token');
    writeFileSync(f, `${TOKEN}\n`);
    expect(loadHttpSecurity({ tokenFile: f, env: {} })?.token).toBe(TOKEN);
    expect(loadHttpSecurity({ env: { [TOKEN_ENV]: 'from-the-environment-xyz' } })?.token).toBe('from-the-environment-xyz');
    expect(loadHttpSecurity({ tokenFile: f, env: { [TOKEN_ENV]: 'from-the-environment-xyz' } })?.token).toBe(TOKEN);
    expect(loadHttpSecurity({ env: {} })).toBeUndefined();
  });

  it('refuses weak or unreadable secrets without printing them', () => {
    const f = join(dir, 'short');
    writeFileSync(f, 'hunter2\n');
    let err: unknown;
    try {
      loadHttpSecurity({ tokenFile: f, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpSecurityError);
    expect((err as Error).message).toContain(`shorter than ${MIN_TOKEN_LENGTH}`);
    expect((err as Error).message).not.toContain('hunter2');
    expect(() => loadHttpSecurity({ env: { [TOKEN_ENV]: '   ' } })).toThrow(/empty/);
    expect(() => loadHttpSecurity({ env: { [TOKEN_ENV]: 'has a space in the middle!!' } })).toThrow(/printable ASCII/);
    expect(() => loadHttpSecurity({ tokenFile: join(dir, 'missing'), env: {} })).toThrow(/ENOENT/);
    expect(() => loadHttpSecurity({ tlsCertFile: f, env: {} })).toThrow(/go together/);
    expect(() => loadHttpSecurity({ clientCaFile: f, env: {} })).toThrow(/needs the HTTP TLS/);
  });

  it('a printed configuration has the token and key redacted', () => {
    const printed = JSON.stringify(redactSecrets({ token: TOKEN, tls: { cert: 'CERT', key: 'KEY' } }));
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain('KEY');
  });

  it('bearerMatches: exact token only, any case of the scheme', () => {
    const d = createHash('sha256').update(TOKEN).digest();
    expect(bearerMatches(`Bearer ${TOKEN}`, d)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, d)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, d)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN.slice(1)}`, d)).toBe(false);
    expect(bearerMatches(`Basic ${TOKEN}`, d)).toBe(false);
    expect(bearerMatches(TOKEN, d)).toBe(false);
    expect(bearerMatches(undefined, d)).toBe(false);
    expect(bearerMatches('Bearer ', d)).toBe(false);
  });
});

describe('replica HTTP over TLS with a bearer token', () => {
  let pki: TestPki;
  let r: Awaited<ReturnType<typeof startReplica>>;
  const logLines: string[] = [];
  let base: string;
  beforeAll(async () => {
    pki = makePki();
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString());
        cb();
      },
    });
    r = await startReplica({ tls: { cert: pki.serverCert, key: pki.serverKey }, token: TOKEN }, pino({ level: 'debug' }, sink));
    base = `https://[::1]:${r.http.port}`;
  });
  afterAll(async () => {
    await r.http.close();
    await r.replica.stop();
    pki.cleanup();
  });
  const auth = { authorization: `Bearer ${TOKEN}` };

  it('probes stay open; /v1/* and /metrics need the token (401 with WWW-Authenticate)', async () => {
    expect((await request(`${base}/healthz`, { ca: pki.ca })).status).toBe(200);
    expect((await request(`${base}/readyz`, { ca: pki.ca })).status).toBe(503); // not caught up: open, not 401
    for (const path of ['/metrics', '/v1/status', '/v1/bindings?address=2001:db8::1', '/nowhere']) {
      const none = await request(`${base}${path}`, { ca: pki.ca });
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="lqr"');
      const wrong = await request(`${base}${path}`, { ca: pki.ca, headers: { authorization: `Bearer ${TOKEN.replace(/0/, '1')}` } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
    }
    const m = await request(`${base}/metrics`, { ca: pki.ca, headers: auth });
    expect(m.status).toBe(200);
    expect(m.body).toContain('lqr_replica_http_auth_failures_total{reason="missing_token"} 4');
    expect(m.body).toContain('lqr_replica_http_auth_failures_total{reason="invalid_token"} 4');
    expect((await request(`${base}/v1/status`, { ca: pki.ca, headers: auth })).status).toBe(200);
    expect((await request(`${base}/nowhere`, { ca: pki.ca, headers: auth })).status).toBe(404);
  });

  it('is HTTPS only: a client that does not trust the CA, or speaks plain HTTP, gets nothing', async () => {
    await expect(request(`${base}/healthz`)).rejects.toThrow();
    await expect(request(`http://[::1]:${r.http.port}/healthz`)).rejects.toThrow();
  });

  it('the token never reaches the log', async () => {
    await request(`${base}/metrics`, { ca: pki.ca, headers: { authorization: `Bearer ${TOKEN}-wrong` } });
    await request(`${base}/metrics`, { ca: pki.ca, headers: auth });
    const all = logLines.join('');
    expect(all).toContain('http request refused');
    expect(all).not.toContain(TOKEN);
  });
});

describe('replica HTTP with mTLS', () => {
  let pki: TestPki;
  let r: Awaited<ReturnType<typeof startReplica>>;
  let base: string;
  beforeAll(async () => {
    pki = makePki();
    r = await startReplica({ tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.ca } });
    base = `https://[::1]:${r.http.port}`;
  });
  afterAll(async () => {
    await r.http.close();
    await r.replica.stop();
    pki.cleanup();
  });

  it('a client certificate from the CA opens /v1/* and /metrics; probes need none', async () => {
    expect((await request(`${base}/healthz`, { ca: pki.ca })).status).toBe(200);
    expect((await request(`${base}/metrics`, { ca: pki.ca })).status).toBe(403);
    expect((await request(`${base}/metrics`, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })).status).toBe(200);
    expect((await request(`${base}/v1/status`, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey })).status).toBe(200);
  });
});

describe('replica HTTP with protected probes', () => {
  it('--http-protect-probes: /healthz needs the token too', async () => {
    const r = await startReplica({ token: TOKEN, protectProbes: true });
    try {
      const base = `http://[::1]:${r.http.port}`;
      expect((await request(`${base}/healthz`)).status).toBe(401);
      expect((await request(`${base}/healthz`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    } finally {
      await r.http.close();
      await r.replica.stop();
    }
  });
});

describe('API server limits against hostile HTTP peers', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = createApiServer(undefined, (_req, res) => res.end('ok\n'), { registry: new Registry() });
    await new Promise<void>((r) => server.listen(0, '::1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  const raw = (bytes: string | Buffer): Promise<string> =>
    new Promise((resolve) => {
      const s = net.connect({ port, host: '::1' });
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('error', () => resolve(out));
      s.on('close', () => resolve(out));
      s.write(bytes);
    });

  it('garbage gets 400, huge headers 431, and the server keeps answering', async () => {
    expect(await raw('NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(await raw(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431/);
    expect(await raw(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]))).toMatch(/^HTTP\/1\.1 400/);
    expect((await request(`http://[::1]:${port}/`)).status).toBe(200);
  });

  it('applies header and request timeouts', () => {
    expect(server.headersTimeout).toBeLessThanOrEqual(10_000);
    expect(server.requestTimeout).toBeLessThanOrEqual(30_000);
    expect(server.maxConnections).toBeGreaterThan(0);
  });
});
