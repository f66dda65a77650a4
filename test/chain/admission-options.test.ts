import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChainGateway } from '../../src/chain/index.js';
import { QfaasConfigError } from '../../src/errors.js';
import { createHandlerServer } from '../../src/handler-server/index.js';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, ZeroRttGenerator } from '../../src/zero-rtt/index.js';

/** The flood defences reach the QUIC endpoint of every server the library builds. */
describe('retry, maxConnections, maxHalfOpenConnections and handshakeTimeoutMs on the servers', () => {
  it('the chain gateway and the handler server pass them to their endpoint (a bad value is refused there)', async () => {
    const ca = await createPlatformCA();
    const certificate = await ca.issue({ role: 'gateway', name: 'chain.qfaas.internal', hosts: ['127.0.0.1'] });
    const invoker = new InvokerClient({ ca });
    const gatewayOptions = { credentials: { caPem: ca.certPem, certificate, ticketKey: randomBytes(48) }, invoker, host: '127.0.0.1', resolve: () => ({ serverName: 'x', host: '127.0.0.1', port: 1 }) };
    const refused = async (promise: Promise<unknown>, field: string) => {
      const error = await promise.then(() => undefined, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(QfaasConfigError);
      expect((error as QfaasConfigError).field).toBe(field);
    };
    await refused(createChainGateway({ ...gatewayOptions, handshakeTimeoutMs: -1 }), 'handshakeTimeoutMs');
    await refused(createChainGateway({ ...gatewayOptions, maxHalfOpenConnections: 0 }), 'maxHalfOpenConnections');
    await refused(createChainGateway({ ...gatewayOptions, retry: { halfOpenThreshold: -1 } }), 'retry.halfOpenThreshold');
    // The async queue: 0 workers would accept async calls and never run them.
    await refused(createChainGateway({ ...gatewayOptions, asyncConcurrency: 0 }), 'asyncConcurrency');
    await refused(createChainGateway({ ...gatewayOptions, asyncQueueSize: -1 }), 'asyncQueueSize');
    await refused(createChainGateway({ ...gatewayOptions, asyncQueueSize: 1.5 }), 'asyncQueueSize');
    await refused(createChainGateway({ ...gatewayOptions, hopLimit: 0 }), 'hopLimit');
    const gateway = await createChainGateway({ ...gatewayOptions, maxConnections: 5, retry: { halfOpenThreshold: 0 } });
    await gateway.close();

    const { worker } = await new ZeroRttGenerator({ ca }).provision({ functionName: 'fn', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    const handler = () => new Response('ok');
    await refused(createHandlerServer({ credentials: worker, host: '127.0.0.1', handler, maxConnections: 0 }), 'maxConnections');
    const server = await createHandlerServer({ credentials: worker, host: '127.0.0.1', handler, retry: false, handshakeTimeoutMs: 0 });
    expect(server.metrics().quic).toMatchObject({ connections: 0, halfOpenConnections: 0, retriesSent: 0 });
    await server.close({ timeoutMs: 10 });
    await invoker.close();
  });
});
