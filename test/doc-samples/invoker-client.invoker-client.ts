// Extracted from docs/invoker-client.md ("Invoker client (`qfaas/invoker-client`)") by `npm run docs:samples -- --write`: edit the Markdown, not this file.
import { createHandlerServer } from 'qfaas/handler-server';
import { InvokerClient, getResponseInfo } from 'qfaas/invoker-client';
import { createPlatformCA, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';

// A worker to call, provisioned by the 0-RTT generator (docs/zero-rtt.md), and its session.
const ca = await createPlatformCA();
const generator = new ZeroRttGenerator({ ca });
const provisioned = await generator.provision({ functionName: 'echo', instanceId: 'i-7', hosts: ['127.0.0.1'] });
const server = await createHandlerServer({
  credentials: provisioned.worker,
  host: '127.0.0.1',
  onRequest: async (request) => ({
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: request.path, body: await request.body.text() }),
  }),
});
const ticketStore = new MemoryTicketStore(); // gateway replicas share one: new RedisTicketStore({ redis: 'redis://10.0.0.5:6379' })
await ticketStore.set(provisioned.serverName, provisioned.session);

const invoker = new InvokerClient({
  ca,                                   // the platform CA (or its PEM)
  certificate: await generator.invokerCertificate(), // mutual TLS towards workers
  ticketStore,
  zeroRtt: 'idempotent',
});
const worker = { serverName: provisioned.serverName, host: '127.0.0.1', port: server.address.port }; // i-7.echo.qfaas.internal

// Lean form (undici's `request()` style): no web Request, Response, Headers or stream is built.
const { statusCode, headers, body, earlyData, transport } = await invoker.request({
  ...worker,
  method: 'PUT',
  path: '/orders/1?q=1',
  headers: { 'content-type': 'application/json' },   // or a flat list ['content-type', '…']
  body: JSON.stringify({ id: 1 }),                     // string, bytes, or an async iterable
  signal: AbortSignal.timeout(2000),                   // optional: no AbortController otherwise
});
const result = await body.json();   // or text(), bytes(), `for await`, or dump() to discard
// earlyData true: the request (a PUT, idempotent) arrived at the worker as 0-RTT early data;
// transport: { earlyDataAttempted, resumed, reusedConnection, handshakeMs, attempts }
console.log(statusCode, headers['content-type'], result, earlyData, transport);

// Web form, with fetch's arguments: the URL names the worker as its certificate does, `connectTo`
// says where it listens. A web Response (built over the lean response).
const response = await invoker.fetch(`https://${worker.serverName}/?q=1`, {
  connectTo: { host: worker.host, port: worker.port },
  signal: AbortSignal.timeout(2000),
});
console.log(response.status, await response.text(), getResponseInfo(response)); // { streamId, earlyData, trailers, transport }

await invoker.close();
await server.close();
