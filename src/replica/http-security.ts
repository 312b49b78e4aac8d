// Access to the replica's HTTP API: TLS (optionally with client certificates), a bearer
// token, and limits that keep hostile HTTP peers (huge or slow headers, idle sockets,
// connection floods) from costing more than a bounded amount of memory.
//
//   - TLS: `tls.cert` + `tls.key` (PEM) make the server HTTPS (TLS 1.2+). With
//     `tls.clientCa`, clients are asked for a certificate; a request to a protected path
//     must come over a connection whose certificate verified against that CA (mTLS).
//     The handshake itself does not demand one, so probes without a certificate still
//     reach /healthz and /readyz.
//   - Token: with `token`, protected paths need `Authorization: Bearer <token>`,
//     compared in constant time (SHA-256 of both sides, then timingSafeEqual: no length
//     leak either). Missing or wrong: 401 with `WWW-Authenticate: Bearer realm="lqr"`
//     (RFC 6750 section 3; `error="invalid_token"` when one was presented).
//   - Protected paths: everything except /healthz and /readyz, which stay open for
//     liveness/readiness probes unless `protectProbes` is set.
//
// Secrets come only from files or the environment (loadHttpSecurity), are never logged,
// and never appear in error messages (a file's path may, its contents never). The field
// names `token` and `key` are redacted by config/redact.ts should a configuration be
// printed.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { silentLogger, type Logger } from '../log.js';
import type { Registry } from '../metrics/index.js';

export interface HttpTlsConfig {
  /** PEM certificate chain and private key of the server. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA bundle: protected paths require a client certificate verified against it. */
  clientCa?: string | Buffer;
}

export interface HttpSecurityConfig {
  tls?: HttpTlsConfig;
  /** Bearer token required on protected paths. */
  token?: string;
  /** Require authentication on /healthz and /readyz too (default: they stay open for probes). */
  protectProbes?: boolean;
}

/** Where the secrets are: files (CLI flags) and the environment. */
export interface HttpSecuritySources {
  tlsCertFile?: string;
  tlsKeyFile?: string;
  clientCaFile?: string;
  tokenFile?: string;
  /** Environment to read LQR_HTTP_TOKEN from when there is no token file (default process.env). */
  env?: NodeJS.ProcessEnv;
  protectProbes?: boolean;
}

export const TOKEN_ENV = 'LQR_HTTP_TOKEN';
/** Shortest token accepted (bytes): a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;
/** Paths open without authentication (unless protectProbes). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** Limits of every API server, secure or not. */
export const HTTP_LIMITS = {
  /** Request headers must arrive whole within this (slow-header peers). */
  headersTimeoutMs: 10_000,
  /** A whole request must arrive within this. */
  requestTimeoutMs: 30_000,
  /** Idle keep-alive sockets are closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** Header bytes per request (Node's default is 16 KiB); larger: 431. */
  maxHeaderSize: 16 * 1024,
  /** Concurrent connections; more are closed at accept. */
  maxConnections: 1024,
  /** Requests per keep-alive connection before the server closes it. */
  maxRequestsPerSocket: 1000,
} as const;

export class HttpSecurityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpSecurityError';
  }
}

function readSecretFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    // The path is not secret; the contents are never part of a message.
    throw new HttpSecurityError(`${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

/** A token as given (file contents or env value): surrounding whitespace and the final newline dropped. */
export function normalizeToken(raw: string, where: string): string {
  const t = raw.trim();
  if (t.length === 0) throw new HttpSecurityError(`the HTTP token in ${where} is empty`);
  if (Buffer.byteLength(t) < MIN_TOKEN_LENGTH) throw new HttpSecurityError(`the HTTP token in ${where} is shorter than ${MIN_TOKEN_LENGTH} bytes`);
  if (!/^[\x21-\x7e]+$/.test(t)) throw new HttpSecurityError(`the HTTP token in ${where} must be printable ASCII without spaces`);
  return t;
}

/**
 * Read the configuration from files and the environment. Undefined when nothing is
 * configured (plain HTTP, no token). The token file wins over LQR_HTTP_TOKEN.
 */
export function loadHttpSecurity(src: HttpSecuritySources): HttpSecurityConfig | undefined {
  const env = src.env ?? process.env;
  if ((src.tlsCertFile === undefined) !== (src.tlsKeyFile === undefined)) throw new HttpSecurityError('the HTTP TLS certificate and key go together');
  if (src.clientCaFile !== undefined && src.tlsCertFile === undefined) throw new HttpSecurityError('a client CA (mTLS) needs the HTTP TLS certificate and key');
  const out: HttpSecurityConfig = {};
  if (src.tlsCertFile !== undefined && src.tlsKeyFile !== undefined) {
    out.tls = { cert: readSecretFile(src.tlsCertFile, 'HTTP TLS certificate'), key: readSecretFile(src.tlsKeyFile, 'HTTP TLS key') };
    if (src.clientCaFile !== undefined) out.tls.clientCa = readSecretFile(src.clientCaFile, 'HTTP client CA');
  }
  if (src.tokenFile !== undefined) out.token = normalizeToken(readSecretFile(src.tokenFile, 'HTTP token').toString('utf8'), `file ${src.tokenFile}`);
  else if (env[TOKEN_ENV] !== undefined) out.token = normalizeToken(env[TOKEN_ENV] as string, TOKEN_ENV);
  if (src.protectProbes) out.protectProbes = true;
  return out.tls || out.token ? out : undefined;
}

/** Constant-time check of `Authorization: Bearer <token>`. */
export function bearerMatches(header: string | undefined, expectedDigest: Buffer): boolean {
  if (header === undefined) return false;
  const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  // Hash whatever came (or nothing), so a malformed header takes the same path.
  const presented = createHash('sha256')
    .update(m ? m[1] : '\u0000no-token')
    .digest();
  return timingSafeEqual(presented, expectedDigest) && m !== null;
}

export interface ApiServerOptions {
  logger?: Logger;
  /** Counts refused requests (lqr_http_auth_failures_total{reason}) when given. */
  registry?: Registry;
  /** Prefix of that metric's name (default 'lqr_http'). */
  metricPrefix?: string;
}

/**
 * An HTTP or HTTPS server running `handler` behind the configured authentication, with
 * HTTP_LIMITS applied. `security` undefined: plain HTTP, no authentication (the limits
 * still apply).
 */
export function createApiServer(security: HttpSecurityConfig | undefined, handler: RequestListener, opts: ApiServerOptions = {}): http.Server {
  const log = opts.logger ?? silentLogger;
  const digest = security?.token !== undefined ? createHash('sha256').update(security.token).digest() : undefined;
  const mtls = security?.tls?.clientCa !== undefined;
  const failures = opts.registry?.counter(`${opts.metricPrefix ?? 'lqr_http'}_auth_failures_total`, 'HTTP requests refused by authentication, by reason', ['reason']);

  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, reason: string, headers: Record<string, string>, message: string): void => {
    failures?.labels(reason).inc();
    if (log.isLevelEnabled('debug')) log.debug({ peer: req.socket.remoteAddress, path: (req.url ?? '/').split('?')[0], reason }, 'http request refused');
    const body = JSON.stringify({ error: reason, message }) + '\n';
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const guarded: RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const open = !security?.protectProbes && PROBE_PATHS.has(path);
    if (!open) {
      if (mtls && !(req.socket as TLSSocket).authorized) {
        refuse(req, res, 403, 'client_certificate', {}, 'a client certificate signed by the configured CA is required');
        return;
      }
      if (digest) {
        const auth = req.headers.authorization;
        if (!bearerMatches(auth, digest)) {
          const presented = auth !== undefined;
          refuse(
            req,
            res,
            401,
            presented ? 'invalid_token' : 'missing_token',
            { 'www-authenticate': presented ? 'Bearer realm="lqr", error="invalid_token"' : 'Bearer realm="lqr"' },
            presented ? 'the bearer token is not valid' : 'a bearer token is required (Authorization: Bearer ...)',
          );
          return;
        }
      }
    }
    handler(req, res);
  };

  const base: http.ServerOptions = {
    maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
  };
  let server: http.Server;
  if (security?.tls) {
    const t = security.tls;
    server = https.createServer(
      {
        ...base,
        cert: t.cert,
        key: t.key,
        minVersion: 'TLSv1.2',
        ...(t.clientCa !== undefined ? { ca: t.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
        // A peer that never completes the handshake is dropped.
        handshakeTimeout: HTTP_LIMITS.headersTimeoutMs,
      },
      guarded,
    );
    server.on('tlsClientError', (err) => {
      if (log.isLevelEnabled('debug')) log.debug({ err: err.message }, 'TLS handshake failed');
    });
  } else {
    server = http.createServer(base, guarded);
  }
  server.maxConnections = HTTP_LIMITS.maxConnections;
  server.maxRequestsPerSocket = HTTP_LIMITS.maxRequestsPerSocket;
  // A malformed request (bad method, oversized headers) gets its 400/431 and the socket closes; nothing is logged above debug.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (log.isLevelEnabled('debug')) log.debug({ code: err.code }, 'bad HTTP request');
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });
  return server;
}
