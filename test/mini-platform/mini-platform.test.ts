import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiniPlatform } from '../../examples/mini-platform/platform.js';

describe('the mini-platform (workers are child processes)', () => {
  let platform: MiniPlatform;
  beforeAll(async () => {
    platform = await MiniPlatform.start({
      idleMs: 60_000,
      // Only the payment step may write to the product store.
      allow: (caller, target) => target !== 'retail-store' || caller.functionName === 'retail-payment',
    });
  }, 30_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it('a chain of 6 returns the composed result; the cold workers first chain calls are 0-RTT at the gateway', async () => {
    const response = await fetch(`${platform.url}/function/f1`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('f1>f2>f3>f4>f5>f6');
    // The end user's request to the cold f1 went in 0-RTT thanks to the generator's session...
    expect(response.headers.get('x-qfaas-early-data')).toBe('true');
    // ...and so did each cold worker's first call to the chain gateway.
    expect(platform.hops.chainGateway.metrics().earlyDataCalls).toBeGreaterThanOrEqual(5);
    expect(platform.coldStarts.get('f6')).toBe(1);
  }, 60_000);

  it('the "Hello, Retail!" purchase chain writes to the product store', async () => {
    const order = await fetch(`${platform.url}/function/retail-order`, { method: 'POST', body: JSON.stringify({ item: 'pear', quantity: 2 }) });
    expect(order.status).toBe(200);
    expect(await order.json()).toEqual({ ok: true, item: 'pear', left: 3 });
  }, 60_000);

  it('a recursive chain hits the hop limit with a clear error', async () => {
    const response = await fetch(`${platform.url}/function/loop`);
    expect(response.status).toBe(508);
    expect(await response.text()).toContain('hop limit');
  }, 60_000);

  it('a worker killed mid-request gives the end user a clear 502, and the next request starts a new instance', async () => {
    const pending = fetch(`${platform.url}/function/sleep?ms=3000`);
    for (let i = 0; i < 100 && !platform.running.includes('sleep'); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    platform.stopInstance('sleep'); // the process dies while the request runs
    const failed = await pending;
    expect(failed.status).toBe(502);
    expect(failed.headers.get('x-qfaas-error')).toBe('platform');
    expect(await failed.text()).toContain('function sleep failed');
    const recovered = await fetch(`${platform.url}/function/sleep?ms=10`);
    expect(recovered.status).toBe(200);
    expect(await recovered.text()).toBe('slept');
    expect(platform.coldStarts.get('sleep')).toBe(2);
  }, 60_000);

  it('the end-user gateway answers 400 to a path that could steer a worker to another host', async () => {
    const { port } = new URL(platform.url);
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        // node:http sends the path as written (fetch() would normalise it).
        const request = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.once('error', reject);
        request.end();
      });
    for (const path of ['/function/echo//127.0.0.1:9/latest/meta-data', '/function/echo/\\127.0.0.1:9/x', '/function/echo/../../x', '/function/echo/%2e%2e/x', 'http://127.0.0.1:9/function/echo/x']) {
      expect(await status(path), path).toBe(400);
    }
    expect(await status('/function/echo/ok?x=1')).toBe(200);
  }, 60_000);

  it('a caller outside the allow-list is refused', async () => {
    const response = await fetch(`${platform.url}/function/sneaky`);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('may not call "retail-store"');
  }, 60_000);

  it('async invocation through the chain gateway delivers the callback', async () => {
    const received: Array<{ callId: string | undefined; body: string }> = [];
    const callbacks = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push({ callId: request.headers['x-call-id'] as string | undefined, body });
        response.end();
      });
    });
    await new Promise<void>((resolve) => callbacks.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (callbacks.address() as { port: number }).port;
      const response = await fetch(`${platform.url}/function/fanout?callback=${encodeURIComponent(`http://127.0.0.1:${port}/result`)}`);
      expect(response.status).toBe(202);
      const callId = await response.text();
      expect(callId.length).toBeGreaterThan(0);
      await platform.hops.chainGateway.whenAsyncIdle();
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received).toEqual([{ callId, body: 'f5>f6' }]);
    } finally {
      await new Promise<void>((resolve) => callbacks.close(() => resolve()));
    }
  }, 60_000);
});
