import { chain, isFunctionError, isPlatformError, callIdOf } from 'qfaas/chain';

export default async function handler(request: Request): Promise<Response> {
  // Synchronous, like Lambda's RequestResponse; the call id and hop count carry over via `parent`.
  const price = await chain.invoke('pricing', { method: 'GET', parent: request });
  const priceText = await price.text(); // read every response body to its end
  if (isPlatformError(price)) return new Response('try again later', { status: 503 });
  if (isFunctionError(price)) return new Response('pricing failed', { status: 502 });
  // Asynchronous, like OpenFaaS /async-function/: 202 and a call id; the result goes to the callback.
  const queued = await chain.invokeAsync('audit', { method: 'POST', body: 'sold', callbackUrl: process.env.AUDIT_RESULTS_URL });
  return new Response(`${priceText} (audit ${callIdOf(queued)})`);
}
