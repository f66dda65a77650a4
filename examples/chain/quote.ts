import { chain } from 'qfaas/chain';
import type { LeanRequestHandler } from 'qfaas/handler-server';

// createHandlerServer({ credentials, onRequest }): no web Request, Response or Headers is built.
export const onRequest: LeanRequestHandler = async (request) => {
  const price = await chain.request('pricing', { parent: request });
  if (price.statusCode !== 200) {
    await price.body.dump(); // read or dump every response body
    return { statusCode: price.headers['x-qfaas-error'] === 'platform' ? 503 : 502, body: 'no quote' };
  }
  const quote = await price.body.json();
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ quote }) };
};
