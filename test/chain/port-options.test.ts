import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createChainClient, createChainGateway } from '../../src/chain/index.js';
import { isQfaasConfigError, type QfaasConfigError } from '../../src/errors.js';
import { InvokerClient } from '../../src/invoker-client/index.js';
import { createPlatformCA, ZeroRttGenerator } from '../../src/zero-rtt/index.js';

/** A refusal names the option the caller wrote, never the binding's own error. */
async function refusal(make: () => unknown): Promise<QfaasConfigError> {
  const error = await (async () => make())().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isQfaasConfigError(error)).toBe(true);
  expect((error as Error).message).not.toMatch(/u16|u32|GenericFailure|ERR_SOCKET/);
  return error as QfaasConfigError;
}

describe('ports of the chain gateway and the chain client', () => {
  it('the gateway refuses a port to listen on outside 0 to 65535; the client one to connect to outside 1 to 65535', async () => {
    const ca = await createPlatformCA();
    const certificate = await ca.issue({ role: 'gateway', name: 'chain.qfaas.internal', hosts: ['127.0.0.1'] });
    const ticketKey = randomBytes(48);
    const invoker = new InvokerClient({ ca });
    try {
      const options = { credentials: { caPem: ca.certPem, certificate, ticketKey }, invoker, host: '127.0.0.1', resolve: () => ({ serverName: 'x', host: '127.0.0.1', port: 1 }) };
      for (const port of [70_000, -1, 8080.5]) expect((await refusal(() => createChainGateway({ ...options, port }))).field).toBe('port');

      const generator = new ZeroRttGenerator({ ca, chainGateway: { serverName: 'chain.qfaas.internal', host: '127.0.0.1', port: 4433, certificate, ticketKey } });
      const { worker } = await generator.provision({ functionName: 'fn', instanceId: 'i-1' });
      for (const port of [70_000, 0]) {
        expect((await refusal(() => createChainClient({ credentials: worker, gateway: { host: '127.0.0.1', port } }))).field).toBe('gateway.port');
      }
    } finally {
      await invoker.close();
    }
  });

  it('the generator refuses a chain gateway port that no worker could connect to', async () => {
    const ca = await createPlatformCA();
    const certificate = await ca.issue({ role: 'gateway', name: 'chain.qfaas.internal' });
    for (const port of [70_000, 0]) {
      const error = await refusal(() => new ZeroRttGenerator({ ca, chainGateway: { serverName: 'chain.qfaas.internal', port, certificate, ticketKey: randomBytes(48) } }));
      expect(error.field).toBe('chainGateway.port');
    }
  });
});
