// STARTTLS (RFC 7653 "Using TLS"): accepted, refused, policies, verification.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestorConnection, RequestorError, buildStartTls, defaultRequestorDuid } from '../../../src/leasequery/index.js';
import { MessageType, StatusCode, formatIPv6 } from '../../../src/protocol/index.js';
import { makePki, type TestPki } from './certs.js';
import { HOST, collectUntil, isDone, rawPeer, startLab } from './helpers.js';

describe('STARTTLS', () => {
  let pki: TestPki;
  let secure: Awaited<ReturnType<typeof startLab>>;
  let plain: Awaited<ReturnType<typeof startLab>>;
  beforeAll(async () => {
    pki = makePki();
    secure = await startLab({ seed: 51, engine: { tls: { cert: pki.serverCert, key: pki.serverKey } } });
    plain = await startLab({ seed: 52 });
  });
  afterAll(async () => {
    await secure?.stop();
    await plain?.stop();
    pki?.cleanup();
  });

  it('accepted: the handshake runs on the same connection, then bulk and active queries travel inside TLS', async () => {
    const conn = await RequestorConnection.connect({ host: HOST, port: secure.tcpPort, tls: { policy: 'require', ca: pki.ca } });
    expect(conn.tlsState).toBe('on');
    const link = secure.db.topology.links[0].linkAddress;
    const evs = await collectUntil(conn.bulk({ type: 'link', link }), isDone);
    expect(evs.filter((e) => e.kind === 'binding').length).toBe(secure.dumpBindings().bindings.filter((b) => b.linkAddress === formatIPv6(link)).length);
    const active = conn.active();
    expect((await active.next()).value).toMatchObject({ kind: 'accepted' });
    secure.step(5);
    expect((await active.next()).value).toMatchObject({ kind: 'binding', phase: 'live' });
    expect(secure.stats!.tlsHandshakes).toBeGreaterThanOrEqual(1);
    conn.close();
  });

  it('accepted with a client certificate when the server asks for one', async () => {
    const mtls = await startLab({ seed: 53, engine: { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true } } });
    try {
      const conn = await RequestorConnection.connect({ host: HOST, port: mtls.tcpPort, tls: { policy: 'require', ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
      expect(conn.tlsState).toBe('on');
      expect((await collectUntil(conn.bulk({ type: 'link', link: mtls.db.topology.links[0].linkAddress }), isDone)).at(-1)).toMatchObject({ status: 0 });
      conn.close();
      const anonymous = await RequestorConnection.connect({ host: HOST, port: mtls.tcpPort, tls: { policy: 'require', ca: pki.ca } }).catch((e: unknown) => e);
      // Without a client certificate the server aborts the handshake (TLS 1.3 may report it on first use).
      if (anonymous instanceof RequestorConnection) {
        const err = await collectUntil(anonymous.bulk({ type: 'link', link: mtls.db.topology.links[0].linkAddress }), isDone).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RequestorError);
      } else {
        expect(anonymous).toBeInstanceOf(RequestorError);
      }
    } finally {
      await mtls.stop();
    }
  });

  it('refused when TLS is not configured: TLSConnectionRefused; require fails, prefer continues in clear', async () => {
    const peer = await rawPeer(plain.tcpPort);
    peer.send(buildStartTls(5, defaultRequestorDuid()));
    const r = await peer.next();
    expect(r.msgType).toBe(MessageType.LEASEQUERY_REPLY);
    expect(r.options.find((o) => o.name === 'statusCode')).toMatchObject({ status: StatusCode.TLSConnectionRefused });
    peer.socket.destroy();

    const err = await RequestorConnection.connect({ host: HOST, port: plain.tcpPort, tls: { policy: 'require', ca: pki.ca } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestorError);
    expect((err as RequestorError).code).toBe('tls-refused');

    const clear = await RequestorConnection.connect({ host: HOST, port: plain.tcpPort, tls: { policy: 'prefer', ca: pki.ca } });
    expect(clear.tlsState).toBe('refused');
    expect((await collectUntil(clear.bulk({ type: 'link', link: plain.db.topology.links[0].linkAddress }), isDone)).at(-1)).toMatchObject({ status: 0 });
    clear.close();
    expect(plain.stats!.tlsRefused).toBe(3);
  });

  it('fails verification against the wrong CA', async () => {
    const err = await RequestorConnection.connect({ host: HOST, port: secure.tcpPort, tls: { policy: 'require', ca: pki.otherCa } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestorError);
    expect((err as RequestorError).code).toBe('tls-failed');
    // The server is fine afterwards.
    const ok = await RequestorConnection.connect({ host: HOST, port: secure.tcpPort, tls: { policy: 'require', ca: pki.ca } });
    expect(ok.tlsState).toBe('on');
    ok.close();
  });

  it('STARTTLS is only valid as the first message', async () => {
    const peer = await rawPeer(secure.tcpPort);
    const { buildLeasequery } = await import('../../../src/leasequery/index.js');
    peer.send(buildLeasequery(1, defaultRequestorDuid(), { type: 'remote-id', enterpriseNumber: 1, remoteId: Buffer.from('x') }));
    await peer.next();
    peer.send(buildStartTls(2, defaultRequestorDuid()));
    const r = await peer.next();
    expect([r.transactionId, r.options.find((o) => o.name === 'statusCode')]).toEqual([2, expect.objectContaining({ status: StatusCode.MalformedQuery })]);
    peer.socket.destroy();
  });
});
