import { describe, expect, it } from 'vitest';
import { createHandlerServer, type HandlerServerOptions, type LeanRequestHandler } from '../../src/handler-server/index.js';
import { usePlatformTestbed } from '../helpers/platform.js';

/** What a worker sends when its handler's answer breaks HTTP's rules, or its keeping fails. */
describe('handler server: responses the handler gets wrong', () => {
  const testbed = usePlatformTestbed();

  async function leanWorker(onRequest: LeanRequestHandler, extra: Partial<HandlerServerOptions> = {}) {
    const provisioned = await testbed.generator.provision({ functionName: 'fn', instanceId: `rules-${Math.random()}`, hosts: ['127.0.0.1'] });
    const server = testbed.track(await createHandlerServer({ credentials: provisioned.worker, host: '127.0.0.1', onRequest, ...extra }));
    const client = testbed.invoker(provisioned);
    const target = { serverName: provisioned.serverName, host: '127.0.0.1', port: server.address.port };
    return { server, client, target };
  }

  /** A body whose producer records whether it was told nobody will read it. */
  function watchedBody(text: string) {
    const seen = { returned: false };
    const body: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => {
        let sent = false;
        return {
          next: async () => (sent ? { done: true, value: undefined } : ((sent = true), { done: false, value: text })),
          return: async () => {
            seen.returned = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    return { body, seen };
  }

  it.each([204, 205, 304])('a %i carries no content even when the handler gives a body; the body is cancelled', async (status) => {
    const bodies: Array<{ returned: boolean }> = [];
    const { client, target } = await leanWorker(() => {
      const { body, seen } = watchedBody('should not be sent');
      bodies.push(seen);
      return { statusCode: status, headers: { etag: '"v1"' }, body };
    });
    const response = await client.request(target);
    expect(response.statusCode).toBe(status);
    expect(response.headers.etag).toBe('"v1"');
    expect((await response.body.bytes()).length).toBe(0);
    expect(bodies[0]?.returned).toBe(true);
  });

  it('a 204 with a byte body sends no bytes', async () => {
    const { client, target } = await leanWorker(() => ({ statusCode: 204, body: 'x'.repeat(100) }));
    const response = await client.request(target);
    expect(response.statusCode).toBe(204);
    expect(await response.body.text()).toBe('');
  });

  it.each([
    ['a header name with a space', { 'bad name': 'v' }],
    ['a header value with CR LF', { 'x-split': 'a\r\nset-cookie: b' }],
    ['a header value ending in CR', { 'x-trailing': 'value\r' }],
  ])('%s: the client gets a plain 500 with none of the handler’s body, and the body is cancelled', async (_label, headers) => {
    const bodies: Array<{ returned: boolean }> = [];
    const { client, target } = await leanWorker(() => {
      const { body, seen } = watchedBody('secret handler output');
      bodies.push(seen);
      return { statusCode: 200, headers, body };
    });
    const response = await client.request(target);
    expect(response.statusCode).toBe(500);
    expect(response.headerList.filter(([name]) => !name.startsWith(':'))).toEqual([]);
    expect(await response.body.text()).toBe('');
    expect(bodies[0]?.returned).toBe(true);
  });

  it('a connection-specific header is left out (RFC 9114 section 4.2), the rest is sent', async () => {
    const { client, target } = await leanWorker(() => ({ statusCode: 200, headers: { connection: 'close', 'x-kept': 'yes' }, body: 'ok' }));
    const response = await client.request(target);
    expect(response.statusCode).toBe(200);
    expect(response.headers.connection).toBeUndefined();
    expect(response.headers['x-kept']).toBe('yes');
    expect(await response.body.text()).toBe('ok');
  });

  it('a status outside 200–999 becomes a plain 500 without the handler’s body', async () => {
    const { client, target } = await leanWorker(() => ({ statusCode: 99, body: 'secret handler output' }));
    const response = await client.request(target);
    expect(response.statusCode).toBe(500);
    expect(await response.body.text()).toBe('');
  });

  it('a handler failure is 500 and counted as a handler error, not 504', async () => {
    const errors: unknown[] = [];
    const { server, client, target } = await leanWorker(
      () => {
        throw new Error('boom');
      },
      { onError: (error) => errors.push(error), limits: { execTimeoutMs: 60_000 } },
    );
    const response = await client.request(target);
    expect(response.statusCode).toBe(500);
    expect(await response.body.text()).toBe('internal error\n');
    expect(server.metrics()).toMatchObject({ handlerErrors: 1, execTimeouts: 0 });
    expect(errors).toHaveLength(1);
  });

  it('an Idempotency-Key response that cannot be kept (its body fails) frees the key: the retry runs again', async () => {
    let runs = 0;
    const errors: unknown[] = [];
    const { server, client, target } = await leanWorker(
      () => {
        runs++;
        if (runs === 1) {
          const failing: AsyncIterable<string> = {
            [Symbol.asyncIterator]: () => ({
              next: async () => {
                throw new Error('the body failed while it was being kept');
              },
            }),
          };
          return { statusCode: 201, body: failing };
        }
        return { statusCode: 201, body: 'charged' };
      },
      { onError: (error) => errors.push(error) },
    );
    const init = { ...target, method: 'POST', headers: { 'idempotency-key': 'order-7' }, body: 'charge' };
    const first = await client.request(init);
    expect(first.statusCode).toBe(500);
    await first.body.dump();
    expect(server.metrics().handlerErrors).toBe(1);
    // Not 409 "still running": the key was released, so the retry runs and its answer is kept.
    const retry = await client.request(init);
    expect(retry.statusCode).toBe(201);
    expect(await retry.body.text()).toBe('charged');
    const repeat = await client.request(init);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(await repeat.body.text()).toBe('charged');
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('an Idempotency-Key response with a header that cannot be sent frees the key too', async () => {
    let runs = 0;
    const { client, target } = await leanWorker(() => {
      runs++;
      return runs === 1 ? { statusCode: 200, headers: { 'bad name': 'v' }, body: 'x' } : { statusCode: 200, body: 'ok' };
    });
    const init = { ...target, method: 'POST', headers: { 'idempotency-key': 'order-8' }, body: 'x' };
    const first = await client.request(init);
    expect(first.statusCode).toBe(500);
    await first.body.dump();
    const retry = await client.request(init);
    expect(retry.statusCode).toBe(200);
    expect(await retry.body.text()).toBe('ok');
    expect(runs).toBe(2);
  });
});
