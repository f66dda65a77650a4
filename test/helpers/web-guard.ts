import type { ReplayGuard } from '../../src/replay-guard/server-guard.js';
import { webResponseToOutgoing } from '../../src/transport/h3/web-adapters.js';

/** Runs a web Request/Response pair through the guard's lean `run` (tests speak web objects). */
export async function runWeb(guard: ReplayGuard, request: Request, execute: () => Promise<Response>): Promise<Response> {
  const url = new URL(request.url);
  const answer = await guard.run(
    { method: request.method, path: `${url.pathname}${url.search}`, headers: request.headers, body: request.body },
    async () => webResponseToOutgoing(await execute()),
  );
  const body = answer.body;
  const init = { status: answer.statusCode, headers: answer.headers instanceof Headers ? answer.headers : pairs(answer.headers) };
  if (body === undefined || body === null) return new Response(null, init);
  if (typeof body === 'string' || body instanceof Uint8Array) return new Response(body, init);
  const iterator = body[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done === true) controller.close();
      else controller.enqueue(typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value);
    },
  });
  return new Response(stream, init);
}

function pairs(headers: Readonly<Record<string, string | number | readonly string[] | undefined>> | readonly string[] | undefined): Array<[string, string]> {
  if (headers === undefined) return [];
  const out: Array<[string, string]> = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) out.push([headers[i] as string, headers[i + 1] as string]);
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | number | readonly string[] | undefined>)) {
    if (value === undefined) continue;
    for (const item of typeof value === 'object' ? value : [value]) out.push([name, String(item)]);
  }
  return out;
}

/** A POST carrying an Idempotency-Key, as the Idempotency-Key tests send it. */
export const keyedPost = (key: string, path = '/charge'): Request =>
  new Request(`https://w${path}`, { method: 'POST', body: 'card', headers: { 'idempotency-key': key } });
