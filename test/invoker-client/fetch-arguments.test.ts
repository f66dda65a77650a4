import { describe, expect, it } from 'vitest';
import { leanOptionsFromFetch } from '../../src/invoker-client/fetch-arguments.js';

describe("InvokerClient.fetch takes fetch()'s arguments", () => {
  it('the URL gives the server name and the path; connectTo the address', async () => {
    const options = await leanOptionsFromFetch('https://echo.qfaas.internal/orders?q=1', { connectTo: { host: '10.0.3.7', port: 8080 } });
    expect(options).toEqual({ serverName: 'echo.qfaas.internal', host: '10.0.3.7', port: 8080, path: '/orders?q=1', method: 'GET' });
  });

  it('without connectTo, the URL host and port are the address (443 by default; IPv6 unbracketed)', async () => {
    expect(await leanOptionsFromFetch(new URL('https://127.0.0.1:4433/'), {})).toMatchObject({ serverName: '127.0.0.1', host: '127.0.0.1', port: 4433 });
    expect(await leanOptionsFromFetch('https://[::1]/x', {})).toMatchObject({ serverName: '::1', host: '::1', port: 443, path: '/x' });
  });

  it('a Request gives method, headers, body and signal; init overrides them', async () => {
    const controller = new AbortController();
    const request = new Request('https://echo.qfaas.internal/put', { method: 'put', headers: { 'x-a': '1' }, body: 'payload', signal: controller.signal });
    const options = await leanOptionsFromFetch(request, { connectTo: { host: '127.0.0.1', port: 1 } });
    expect(options).toMatchObject({ serverName: 'echo.qfaas.internal', path: '/put', method: 'PUT' });
    expect(options.headers).toEqual(expect.arrayContaining(['x-a', '1']));
    const body = options.body as ReadableStream<Uint8Array>;
    expect(await new Response(body).text()).toBe('payload');
    controller.abort(new Error('stop'));
    expect(options.signal?.aborted).toBe(true);
    const overridden = await leanOptionsFromFetch(new Request('https://echo.qfaas.internal/'), { method: 'DELETE', headers: { 'x-b': '2' } });
    expect(overridden).toMatchObject({ method: 'DELETE', headers: ['x-b', '2'] });
  });

  it('keeps a text body as text (so the retry after 425 can send it again) with its content-type', async () => {
    const options = await leanOptionsFromFetch('https://echo.qfaas.internal/', { method: 'POST', body: 'x' });
    expect(options.body).toBe('x');
    expect(options.headers).toEqual(['content-type', 'text/plain;charset=UTF-8']);
  });

  it('refuses a URL that is not https, naming the argument', async () => {
    await expect(leanOptionsFromFetch('http://echo.qfaas.internal/', {})).rejects.toMatchObject({ code: 'QFAAS_INVALID_CONFIG', field: 'input' });
  });

  it('refuses a connectTo port outside 1 to 65535 naming connectTo.port, and a URL that does not parse (port 70000) naming input', async () => {
    for (const port of [70_000, 0, 1.5]) {
      await expect(leanOptionsFromFetch('https://echo.qfaas.internal/', { connectTo: { host: '127.0.0.1', port } })).rejects.toMatchObject({
        code: 'QFAAS_INVALID_CONFIG',
        field: 'connectTo.port',
      });
    }
    const error = await leanOptionsFromFetch('https://echo.qfaas.internal:70000/?token=s3cret', {}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QFAAS_INVALID_CONFIG', field: 'input' });
    // A URL may carry a credential: the message never quotes it.
    expect((error as Error).message).not.toContain('s3cret');
  });
});
