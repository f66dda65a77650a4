/** Headers the chain gateway and client use to follow a call across functions. */
export const chainHeaders = {
  /** The call's id, the same for every hop of a chain (OpenFaaS uses X-Call-Id too). */
  callId: 'x-call-id',
  /** How many gateway hops the call has made so far. */
  hops: 'x-qfaas-hops',
  /** The calling function, as the gateway authenticated it (set by the gateway, never trusted from the caller). */
  caller: 'x-qfaas-caller',
  /** `function` when the function answered with an error status, `platform` when the platform failed. */
  error: 'x-qfaas-error',
  /** Set by the gateway when the call reached it in 0-RTT early data. */
  earlyData: 'x-qfaas-early-data',
  /** Async invocation: where to POST the result (OpenFaaS X-Callback-Url). */
  callbackUrl: 'x-callback-url',
  /** On a callback: the function's status code. */
  functionStatus: 'x-function-status',
} as const;

/** The default hop limit: a chain this deep is almost certainly a recursive loop. */
export const defaultHopLimit = 16;
