import { describe, expect, it } from 'vitest';
import { InvokerError } from '../../src/invoker-client/index.js';
import { usePlatformTestbed } from '../helpers/platform.js';
import { fetchTarget } from '../helpers/fetch-target.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Settles a fetch into the response text or the error, so several can be awaited together. */
async function outcome(request: Promise<Response>): Promise<string | unknown> {
  try {
    return await (await request).text();
  } catch (error) {
    return error;
  }
}

describe('draining worker (issue 12 item 5)', () => {
  const testbed = usePlatformTestbed();
  const worker = testbed.worker;
  const invoker = testbed.invoker;

  it('close() with a drain window: in-flight requests finish, new ones get a retryable QFAAS_WORKER_DRAINING without running', async () => {
    const ran: string[] = [];
    const { provisioned, server, target } = await worker(async (request) => {
      const path = new URL(request.url).pathname;
      ran.push(path);
      if (path === '/slow') await sleep(800);
      return new Response(`done ${path}`);
    });
    const pooled = invoker(provisioned);
    expect(await (await fetchTarget(pooled, { ...target, path: '/warm' })).text()).toBe('done /warm');
    const inFlight = outcome(fetchTarget(pooled, { ...target, path: '/slow' }, { method: 'POST', body: 'x' }));
    await sleep(100);
    const closing = server.close({ timeoutMs: 3_000 });
    // Right after close(): on the pooled connection (GOAWAY may not have arrived yet) ...
    const onPooled = outcome(fetchTarget(pooled, { ...target, path: '/late-pooled' }, { method: 'POST', body: 'x' }));
    await sleep(200);
    // ... and from invokers opening new connections, in 0-RTT and after a handshake.
    const fresh0Rtt = outcome(fetchTarget(invoker(provisioned), { ...target, path: '/late-0rtt' }));
    const freshPost = outcome(fetchTarget(invoker(undefined), { ...target, path: '/late-post' }, { method: 'POST', body: 'x' }));
    // And the pooled invoker again, now that it knows.
    const again = outcome(fetchTarget(pooled, { ...target, path: '/late-again' }, { method: 'POST', body: 'x' }));
    const late = await Promise.all([onPooled, fresh0Rtt, freshPost, again]);
    for (const error of late) {
      expect(error).toBeInstanceOf(InvokerError);
      expect(error).toMatchObject({ code: 'QFAAS_WORKER_DRAINING', retryable: true, mayHaveRun: false });
      expect((error as InvokerError).message).toContain(`127.0.0.1:${target.port}`);
    }
    // The fresh connections were refused by the worker itself, before any request was read.
    for (const error of [late[1], late[2]]) expect((error as Error).message).toContain('refused the connection (draining)');
    expect(await inFlight).toBe('done /slow');
    await closing;
    expect(ran).toEqual(['/warm', '/slow']);
  });

  it('a request cut at the drain timeout fails with QFAAS_REQUEST_INTERRUPTED (mayHaveRun), never a "no error" close', async () => {
    let started = 0;
    const { provisioned, server, target } = await worker(async () => {
      started++;
      await sleep(5_000);
      return new Response('too late');
    });
    const client = invoker(provisioned);
    const cut = outcome(fetchTarget(client, { ...target, path: '/long' }, { method: 'POST', body: 'x' }));
    await sleep(150);
    await server.close({ timeoutMs: 300 });
    const error = await cut;
    expect(started).toBe(1);
    expect(error).toBeInstanceOf(InvokerError);
    expect(error).toMatchObject({ code: 'QFAAS_REQUEST_INTERRUPTED', retryable: true, mayHaveRun: true });
  });

  it('an idle pooled connection: a request sent right after close() is refused as draining, not "reading was stopped locally"', async () => {
    let ran = 0;
    const { provisioned, server, target } = await worker(() => {
      ran++;
      return new Response('ok');
    });
    const client = invoker(provisioned);
    await (await fetchTarget(client, target)).text();
    const closing = server.close({ timeoutMs: 1_000 });
    const results = await Promise.all([0, 1, 2].map(() => outcome(fetchTarget(client, target, { method: 'PUT', body: 'x' }))));
    await closing;
    for (const error of results) expect(error).toMatchObject({ code: 'QFAAS_WORKER_DRAINING', retryable: true, mayHaveRun: false });
    expect(ran).toBe(1);
  });

  it('a response body still streaming when GOAWAY arrives is read to its end', async () => {
    const { provisioned, server, target } = await worker(async () => {
      await sleep(300);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await sleep(50);
          if (sent++ === 10) controller.close();
          else controller.enqueue(new Uint8Array(1000).fill(sent));
        },
      });
      return new Response(body);
    });
    const client = invoker(provisioned);
    const pending = fetchTarget(client, target);
    await sleep(100);
    // GOAWAY reaches the invoker before the response's header section does.
    const closing = server.close({ timeoutMs: 3_000 });
    const response = await pending;
    expect((await response.arrayBuffer()).byteLength).toBe(10_000);
    await closing;
  });
});
