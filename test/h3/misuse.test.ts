import { describe, expect, it } from 'vitest';
import { QfaasConfigError } from '../../src/errors.js';
import { UpstreamProxy } from '../../src/handler-server/upstream-proxy.js';
import { connectHttp3, serveHttp3, type QuicConnection } from '../../src/transport/index.js';

/** Calling the API the wrong way is a QfaasConfigError naming the argument, not a TypeError or a protocol error. */
describe('misuse of the HTTP/3 and proxy API', () => {
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return error;
    }
    throw new Error('not refused');
  };

  it('connectHttp3 on a server connection, serveHttp3 on a client one', () => {
    const server = { role: 'server' } as QuicConnection;
    const client = { role: 'client' } as QuicConnection;
    for (const error of [refusal(() => connectHttp3(server)), refusal(() => serveHttp3(client, { onRequest: () => ({ statusCode: 200 }) }))]) {
      expect(error).toBeInstanceOf(QfaasConfigError);
      expect((error as QfaasConfigError).field).toBe('connection');
    }
  });

  it('an upstream that is not an http:// URL', () => {
    for (const upstream of ['https://127.0.0.1:8080', '127.0.0.1:8080', '']) {
      const error = refusal(() => new UpstreamProxy(upstream));
      expect(error).toBeInstanceOf(QfaasConfigError);
      expect((error as QfaasConfigError).field).toBe('upstream');
    }
  });
});
