/**
 * The mini-platform's functions. Each is plain function code: a web Request in, a Response out,
 * and `chain` to call other functions through the gateway.
 */
import type { InvokeAsyncInit, InvokeInit } from 'qfaas/chain';

/** What function code needs to call other functions: a ChainClient, or anything that calls the same way. */
export interface Chain {
  invoke(functionName: string, init?: InvokeInit): Promise<Response>;
  invokeAsync(functionName: string, init?: InvokeAsyncInit): Promise<Response>;
}

export type FunctionCode = (request: Request, chain: Chain) => Response | Promise<Response>;

const chainStep =
  (index: number, last: number): FunctionCode =>
  async (request, chain) => {
    if (index === last) return new Response(`f${index}`);
    const next = await chain.invoke(`f${index + 1}`, { parent: request });
    return new Response(`f${index}>${await next.text()}`, { status: next.status });
  };

/** The product store lives in the retail-store instance's memory. */
const stock = new Map<string, number>([
  ['apple', 10],
  ['pear', 5],
]);

export const functions: Record<string, FunctionCode> = {
  echo: async (request) => new Response(request.method === 'GET' ? new URL(request.url).search : await request.text()),
  bytes: () => new Response(new Uint8Array(1024 * 1024).fill(0x61)),
  sleep: async (request) => {
    await new Promise((resolve) => setTimeout(resolve, Number(new URL(request.url).searchParams.get('ms') ?? 1000)));
    return new Response('slept');
  },
  // Starts f5 asynchronously; the gateway POSTs the result to the `callback` URL.
  fanout: async (request, chain) => {
    const callbackUrl = new URL(request.url).searchParams.get('callback') ?? undefined;
    const accepted = await chain.invokeAsync('f5', { parent: request, ...(callbackUrl === undefined ? {} : { callbackUrl }) });
    return new Response(accepted.headers.get('x-call-id'), { status: accepted.status });
  },
  // Tries to write to the product store directly, which the platform's allow-list forbids.
  sneaky: async (request, chain) => {
    const response = await chain.invoke('retail-store', { method: 'POST', body: JSON.stringify({ item: 'apple', quantity: 1, paid: true }), parent: request });
    return new Response(await response.text(), { status: response.status });
  },
  loop: async (request, chain) => {
    const response = await chain.invoke('loop', { parent: request });
    return new Response(await response.text(), { status: response.status, headers: response.headers });
  },
  ...Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i + 1}`, chainStep(i + 1, 6)])),
  // A "Hello, Retail!"-like purchase: order → validate → payment → store.
  'retail-order': async (request, chain) => {
    const order = (await request.json()) as { item: string; quantity: number };
    const validated = await chain.invoke('retail-validate', { method: 'POST', body: JSON.stringify(order), parent: request });
    if (!validated.ok) return new Response(await validated.text(), { status: validated.status });
    return new Response(await validated.text(), { headers: { 'content-type': 'application/json' } });
  },
  'retail-validate': async (request, chain) => {
    const order = (await request.json()) as { item: string; quantity: number };
    if (typeof order.item !== 'string' || !(order.quantity > 0)) return new Response('invalid order', { status: 400 });
    const paid = await chain.invoke('retail-payment', { method: 'POST', body: JSON.stringify(order), parent: request });
    return new Response(await paid.text(), { status: paid.status });
  },
  'retail-payment': async (request, chain) => {
    const order = (await request.json()) as { item: string; quantity: number };
    const stored = await chain.invoke('retail-store', {
      method: 'POST',
      body: JSON.stringify({ ...order, paid: true }),
      headers: { 'idempotency-key': `pay-${request.headers.get('x-call-id')}` },
      parent: request,
    });
    return new Response(await stored.text(), { status: stored.status });
  },
  'retail-store': async (request) => {
    const order = (await request.json()) as { item: string; quantity: number; paid: boolean };
    const left = stock.get(order.item) ?? 0;
    if (!order.paid || left < order.quantity) return new Response(JSON.stringify({ ok: false, left }), { status: 409 });
    stock.set(order.item, left - order.quantity);
    return Response.json({ ok: true, item: order.item, left: left - order.quantity });
  },
};

/** The code of the function `name`; throws for a function the platform does not have. */
export function functionCode(name: string): FunctionCode {
  // Own properties only: 'toString' is not a function of the platform.
  const code = Object.hasOwn(functions, name) ? functions[name] : undefined;
  if (code === undefined) throw new Error(`unknown function ${name}`);
  return code;
}
