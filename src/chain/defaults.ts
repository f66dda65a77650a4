import { defaultHopLimit } from './headers.js';

/** Defaults of the chain gateway, in one place (each option's TSDoc repeats its value). */
export const chainGatewayDefaults = Object.freeze({
  /** Chains deeper than this are refused (508). */
  hopLimit: defaultHopLimit,
  /** Async invocations waiting at most; more get 429. */
  asyncQueueSize: 1000,
  /** Async invocations running at once. */
  asyncConcurrency: 16,
  /** Longest wait for an async call's callback URL to answer. */
  callbackTimeoutMs: 10_000,
});
