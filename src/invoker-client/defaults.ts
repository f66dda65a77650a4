/** Defaults of `InvokerClient`, in one place (each option's TSDoc repeats its value). */
export const invokerDefaults = Object.freeze({
  zeroRtt: 'idempotent' as const,
  maxConnections: 1024,
  idleTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 30_000,
  localAddress: '0.0.0.0',
  deadPeerTimeoutMs: 1_000,
  keepAliveMs: 5_000,
  rememberDrainingMs: 10_000,
});
