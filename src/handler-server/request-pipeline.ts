import type { ReplayGuard } from '../replay-guard/server-guard.js';
import type { Http3IncomingRequest, Http3RequestInfo, OutgoingResponse } from '../transport/h3/server-request.js';

/**
 * The steps every qfaas server (worker and chain gateway) runs on a request before its own work,
 * in one place so that they cannot drift apart.
 */

/** How a request that arrived in early data may proceed, or what to answer instead. */
export type EarlyAdmission = 'in-early-data' | 'after-handshake' | OutgoingResponse;

/**
 * The replay guard's verdict on an early request, applied: run it now, run it once the handshake
 * completed (a replayed flight never completes one: its request gets 425 and never runs), or
 * answer (425) without running. The request body is cancelled whenever the request will not run.
 */
export async function admitEarlyRequest(guard: ReplayGuard, request: Http3IncomingRequest, info: Http3RequestInfo): Promise<EarlyAdmission> {
  const verdict = await guard.check(request, true);
  if (verdict.action === 'execute') return 'in-early-data';
  if (verdict.action === 'respond') {
    request.body.cancel();
    return verdict.response;
  }
  try {
    await info.handshake;
    return 'after-handshake';
  } catch {
    request.body.cancel();
    return { statusCode: 425, body: 'the handshake did not complete\n' };
  }
}
