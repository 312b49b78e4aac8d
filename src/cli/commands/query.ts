// `lqr query`: ask a DHCPv6 server (or a replica) a Leasequery: UDP (RFC 5007), Bulk
// (RFC 5460) or Active (RFC 7653).
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import {
  RequestorConnection,
  RequestorError,
  udpLeasequery,
  type ActiveEvent,
  type BulkEvent,
  type QueryExtras,
  type QuerySpec,
  type RequestorTlsOptions,
} from '../../leasequery/requestor/index.js';
import { bindingJson, bindingText, statusText } from '../../leasequery/requestor/present.js';
import { Defaults, StatusCode, dhcpTimeToIso, formatIPv6, parseIPv6, statusName, unixMsToDhcpTime } from '../../protocol/index.js';
import { CliError } from '../errors.js';

/** Exit statuses (documented in --help). */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  noBinding: 3,
  errorStatus: 4,
  timeout: 5,
  connection: 6,
  tls: 7,
  protocol: 8,
} as const;

const USAGE = `usage: lqr query --server HOST[:PORT] <what> [options]

Sends a DHCPv6 Leasequery and prints what the server knows.

what (one of):
  --address ADDR          the binding of an address, or of the delegated prefix holding it
  --client-id HEX         a client's bindings (its DUID in hex)
  --relay-id HEX          bindings behind a relay (its DUID in hex)            [TCP]
  --remote-id ENT:HEX     bindings with a relay remote-id (enterprise:hex)     [TCP]
  --link ADDR             bindings on a link (alone: QUERY_BY_LINK_ADDRESS)    [TCP]
                          with another selector: restrict it to that link
  --active                an Active Leasequery: stream every change (with a selector:
                          only the matching ones) until Ctrl-C, --count or --duration

options:
  --server HOST[:PORT]    server; IPv6 literals in brackets: [::1]:547 (default port 547)
  --bulk                  use TCP Bulk Leasequery for --address/--client-id
  --start-time T          only bindings changed since T (bulk), or catch up from T
                          (active); T is an ISO instant or raw DHCPv6 seconds (server clock)
  --end-time T            only bindings changed up to T (bulk only)
  --request-options LIST  client options to ask for (codes, comma-separated; default 47,
                          OPTION_LQ_RELAY_DATA)
  --count N               active: stop after N bindings
  --duration S            active: stop after S seconds
  --timeout MS            UDP: give up after MS (default: RFC 5007 retransmission, ~30 s);
                          TCP: BULK_LQ_DATA_TIMEOUT / ACTIVE_LQ_RCV_TIMEOUT
  --local-port P          UDP: send from port P (ISC dhcpd answers to port 546 whatever
                          the source port: use --local-port 546 against it)
  --tls                   STARTTLS; fail if the server refuses (see --tls-prefer)
  --tls-prefer            STARTTLS, but continue in clear if the server refuses
  --ca FILE               CA certificates (PEM) to verify the server with
  --cert FILE --key FILE  client certificate and key (PEM)
  --insecure              do not verify the server certificate
  --json                  one JSON object per line (NDJSON) instead of text
  -h, --help              show this help

exit status:
  0  answered (bindings found, or an active query ended normally)
  1  internal error
  2  usage error
  3  the server has no binding for the query
  4  the server answered with an error status (NotAllowed, MalformedQuery, ...)
  5  timeout: no (complete) answer in time
  6  connection refused, or closed before the answer was complete
  7  TLS failed (refused with --tls, or handshake/verification failed)
  8  the server broke the protocol`;

export interface QueryIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Call `cb` when the user interrupts (Ctrl-C); only used while an Active query streams. */
  onInterrupt?(cb: () => void): void;
}

const processIo = (): QueryIo => {
  // `lqr query ... | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ok);
    throw err;
  });
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    onInterrupt: (cb) => void process.once('SIGINT', cb),
  };
};

/** "[::1]:547", "::1", "127.0.0.1:547", "host:547", "host". */
export function parseServer(text: string): { host: string; port: number } {
  let host = text;
  let port: number = Defaults.PORT;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (m) {
    host = m[1];
    if (m[2]) port = Number(m[2]);
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const i = text.lastIndexOf(':');
    if (i > 0 && text.indexOf(':') === i) {
      host = text.slice(0, i);
      port = Number(text.slice(i + 1));
    }
  }
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`query: --server '${text}' is not HOST[:PORT] (IPv6 in brackets: [::1]:547)`);
  return { host, port };
}

/** ISO 8601 instant or raw DHCPv6 seconds -> DHCPv6 seconds. */
export function parseDhcpTime(text: string, flag: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n > 0xffffffff) throw new CliError(`query: ${flag} ${text} does not fit 32 bits`);
    return n;
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new CliError(`query: ${flag} '${text}' is neither an ISO instant nor DHCPv6 seconds`);
  return unixMsToDhcpTime(ms);
}

function hexArg(text: string, flag: string): Buffer {
  const clean = text.replace(/[:\s-]/g, '').replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new CliError(`query: ${flag} '${text}' is not hex bytes`);
  return Buffer.from(clean, 'hex');
}

function addrArg(text: string, flag: string): Buffer {
  try {
    return parseIPv6(text);
  } catch (e) {
    throw new CliError(`query: ${flag}: ${(e as Error).message}`);
  }
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CliError(`query: ${flag} ${file}: ${(e as Error).message}`);
  }
}

function exitForError(err: unknown, io: QueryIo): number {
  if (err instanceof RequestorError) {
    io.stderr(`lqr query: ${err.message}\n`);
    switch (err.code) {
      case 'timeout':
        return ExitCode.timeout;
      case 'refused':
      case 'closed':
        return ExitCode.connection;
      case 'tls-refused':
      case 'tls-failed':
        return ExitCode.tls;
      case 'protocol':
        return ExitCode.protocol;
    }
  }
  throw err;
}

export async function run(argv: string[], io: QueryIo = processIo()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        server: { type: 'string' },
        address: { type: 'string' },
        'client-id': { type: 'string' },
        'relay-id': { type: 'string' },
        'remote-id': { type: 'string' },
        link: { type: 'string' },
        bulk: { type: 'boolean' },
        active: { type: 'boolean' },
        'start-time': { type: 'string' },
        'end-time': { type: 'string' },
        'request-options': { type: 'string' },
        count: { type: 'string' },
        duration: { type: 'string' },
        timeout: { type: 'string' },
        'local-port': { type: 'string' },
        tls: { type: 'boolean' },
        'tls-prefer': { type: 'boolean' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        insecure: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new CliError(`query: ${(e as Error).message}\n\n${USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout(USAGE + '\n');
    return ExitCode.ok;
  }
  if (!v.server) throw new CliError(`query: --server is required\n\n${USAGE}`);
  const { host, port } = parseServer(v.server);
  const link = v.link !== undefined ? addrArg(v.link, '--link') : undefined;
  const selectors = [v.address, v['client-id'], v['relay-id'], v['remote-id']].filter((x) => x !== undefined).length;
  if (selectors > 1) throw new CliError('query: give only one of --address, --client-id, --relay-id, --remote-id');
  let spec: QuerySpec | undefined;
  if (v.address !== undefined) spec = { type: 'address', address: addrArg(v.address, '--address'), link };
  else if (v['client-id'] !== undefined) spec = { type: 'client-id', clientId: hexArg(v['client-id'], '--client-id'), link };
  else if (v['relay-id'] !== undefined) spec = { type: 'relay-id', relayId: hexArg(v['relay-id'], '--relay-id'), link };
  else if (v['remote-id'] !== undefined) {
    const m = /^(\d+):(.+)$/.exec(v['remote-id']);
    if (!m) throw new CliError(`query: --remote-id '${v['remote-id']}' is not ENTERPRISE:HEX (e.g. 4491:001095000001)`);
    spec = { type: 'remote-id', enterpriseNumber: Number(m[1]), remoteId: hexArg(m[2], '--remote-id'), link };
  } else if (link) spec = { type: 'link', link };
  if (!spec && !v.active) throw new CliError(`query: say what to query (--address, --client-id, --relay-id, --remote-id, --link or --active)\n\n${USAGE}`);

  const extras: QueryExtras = { baseTime: true };
  if (v['request-options'] !== undefined) {
    const codes = v['request-options'].split(',').filter(Boolean).map(Number);
    if (codes.some((c) => !Number.isInteger(c) || c < 1 || c > 65535)) throw new CliError(`query: --request-options '${v['request-options']}' is not a list of option codes`);
    extras.requestOptions = codes;
  }
  if (v['start-time'] !== undefined) extras.startTime = parseDhcpTime(v['start-time'], '--start-time');
  if (v['end-time'] !== undefined) {
    if (v.active) throw new CliError('query: --end-time is not allowed with --active (RFC 7653)');
    extras.endTime = parseDhcpTime(v['end-time'], '--end-time');
  }
  const timeoutMs = v.timeout !== undefined ? Number(v.timeout) : undefined;
  const localPort = v['local-port'] !== undefined ? Number(v['local-port']) : undefined;
  if (localPort !== undefined && !(Number.isInteger(localPort) && localPort >= 0 && localPort <= 65535)) throw new CliError(`query: --local-port '${v['local-port']}' is not a UDP port`);
  if (timeoutMs !== undefined && !(timeoutMs > 0)) throw new CliError(`query: --timeout '${v.timeout}' is not a positive number of ms`);

  const useTcp = v.active || v.bulk || v.tls || v['tls-prefer'] || extras.startTime !== undefined || extras.endTime !== undefined || (spec && spec.type !== 'address' && spec.type !== 'client-id');
  const print = (json: Record<string, unknown>, text: string): void => io.stdout(v.json ? JSON.stringify(json) + '\n' : text + '\n');

  try {
    if (!useTcp) return await runUdp(spec as QuerySpec, { host, port, timeoutMs, localPort, extras, print, io });
    let tls: RequestorTlsOptions | undefined;
    if (v.tls || v['tls-prefer']) {
      tls = {
        policy: v.tls ? 'require' : 'prefer',
        ca: v.ca ? readPem(v.ca, '--ca') : undefined,
        cert: v.cert ? readPem(v.cert, '--cert') : undefined,
        key: v.key ? readPem(v.key, '--key') : undefined,
        rejectUnauthorized: !v.insecure,
      };
    } else if (v.ca || v.cert || v.key) {
      throw new CliError('query: --ca/--cert/--key need --tls or --tls-prefer');
    }
    const conn = await RequestorConnection.connect({ host, port, tls, bulkDataTimeoutMs: timeoutMs, activeRcvTimeoutMs: timeoutMs });
    if (conn.tlsState === 'refused') io.stderr('lqr query: the server refused STARTTLS; continuing in clear (--tls-prefer)\n');
    try {
      if (v.active) {
        const count = v.count !== undefined ? Number(v.count) : undefined;
        const durationS = v.duration !== undefined ? Number(v.duration) : undefined;
        return await runActive(conn, spec, extras, { count, durationS, print, io });
      }
      return await runBulk(conn, spec as QuerySpec, extras, print);
    } finally {
      conn.close();
    }
  } catch (err) {
    return exitForError(err, io);
  }
}

type Print = (json: Record<string, unknown>, text: string) => void;

async function runUdp(spec: QuerySpec, o: { host: string; port: number; timeoutMs?: number; localPort?: number; extras: QueryExtras; print: Print; io: QueryIo }): Promise<number> {
  const r = await udpLeasequery(spec, { host: o.host, port: o.port, ...o.extras, mrdMs: o.timeoutMs, localPort: o.localPort });
  for (const note of r.notes) o.io.stderr(`lqr query: note: ${note}\n`);
  const base = { serverDuid: r.serverDuid?.toString('hex') ?? null, baseTime: r.baseTime ?? null };
  if (r.status !== StatusCode.Success) {
    o.print({ type: 'status', status: r.status, statusName: statusName(r.status), message: r.statusMessage, ...base }, `server answered ${statusText(r.status, r.statusMessage)}`);
    return ExitCode.errorStatus;
  }
  if (r.clientLinks) {
    const links = r.clientLinks.map(formatIPv6);
    o.print({ type: 'client-links', links, ...base }, `the client has bindings on several links; query again with --link:\n${links.map((l) => `  ${l}`).join('\n')}`);
    return ExitCode.ok;
  }
  if (!r.binding) {
    o.print({ type: 'no-binding', ...base }, 'no binding');
    return ExitCode.noBinding;
  }
  o.print(bindingJson(r.binding, { baseTime: r.baseTime }), bindingText(r.binding, { baseTime: r.baseTime }));
  return ExitCode.ok;
}

async function runBulk(conn: RequestorConnection, spec: QuerySpec, extras: QueryExtras, print: Print): Promise<number> {
  let n = 0;
  for await (const e of conn.bulk(spec, extras) as AsyncIterable<BulkEvent>) {
    if (e.kind === 'binding') {
      n++;
      print(bindingJson(e.binding, { baseTime: e.baseTime }), bindingText(e.binding, { baseTime: e.baseTime }));
      continue;
    }
    if (e.status !== StatusCode.Success) {
      print({ type: 'status', status: e.status, statusName: statusName(e.status), message: e.statusMessage, bindings: n }, `server answered ${statusText(e.status, e.statusMessage)} after ${n} binding(s)`);
      return ExitCode.errorStatus;
    }
    print({ type: 'done', bindings: n, baseTime: e.baseTime ?? null }, `${n} binding(s)`);
    return n > 0 ? ExitCode.ok : ExitCode.noBinding;
  }
  throw new RequestorError('closed', 'the answer ended without LEASEQUERY-DONE');
}

async function runActive(
  conn: RequestorConnection,
  spec: QuerySpec | undefined,
  extras: QueryExtras,
  o: { count?: number; durationS?: number; print: Print; io: QueryIo },
): Promise<number> {
  const it = conn.active(spec, extras) as AsyncIterableIterator<ActiveEvent>;
  let n = 0;
  let stop = false;
  const stopNow = (): void => {
    stop = true;
    void it.return?.();
  };
  const timer = o.durationS !== undefined ? setTimeout(stopNow, o.durationS * 1000) : undefined;
  o.io.onInterrupt?.(stopNow);
  try {
    for await (const e of it) {
      const bt = e.baseTime !== undefined ? ` at ${dhcpTimeToIso(e.baseTime)}` : '';
      switch (e.kind) {
        case 'binding':
          n++;
          o.print(bindingJson(e.binding, { baseTime: e.baseTime, phase: e.phase, receivedAt: e.receivedAt }), bindingText(e.binding, { baseTime: e.baseTime, phase: e.phase }));
          if (o.count !== undefined && n >= o.count) return ExitCode.ok;
          break;
        case 'accepted':
          o.print({ type: 'accepted', serverDuid: e.serverDuid?.toString('hex') ?? null, baseTime: e.baseTime ?? null }, `active leasequery accepted by ${e.serverDuid?.toString('hex') ?? 'server'}${bt}`);
          break;
        case 'catch-up-complete':
          o.print({ type: 'catch-up-complete', baseTime: e.baseTime ?? null }, `catch-up complete${bt}`);
          break;
        case 'data-missing':
          o.print(
            { type: 'data-missing', message: e.statusMessage, baseTime: e.baseTime ?? null },
            `DataMissing${bt}: the server lacks history back to --start-time; recover with --bulk --start-time ${extras.startTime ?? ''} --end-time ${e.baseTime ?? ''}`,
          );
          break;
        case 'keepalive':
          if (o.count === undefined) o.print({ type: 'keepalive', baseTime: e.baseTime ?? null }, `keepalive${bt}`);
          break;
        case 'status':
          o.print({ type: 'status', status: e.status, statusName: statusName(e.status), message: e.statusMessage }, `status ${statusText(e.status, e.statusMessage)}`);
          break;
        case 'done':
          o.print({ type: 'done', status: e.status, statusName: statusName(e.status), message: e.statusMessage, bindings: n }, `server ended the query: ${statusText(e.status, e.statusMessage)}`);
          return e.status === StatusCode.Success ? ExitCode.ok : ExitCode.errorStatus;
      }
    }
    return ExitCode.ok;
  } catch (err) {
    if (stop) return ExitCode.ok;
    throw err;
  } finally {
    if (timer) clearTimeout(timer);
  }
}
