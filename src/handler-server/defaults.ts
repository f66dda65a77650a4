/**
 * Defaults of the handler server, in one place (each option's TSDoc repeats its value). The drain
 * timeout is the HTTP/3 layer's `defaultDrainTimeoutMs`; header limits are HTTP/3's too.
 */
export const handlerServerDefaults = Object.freeze({
  /** Requests executing at once; 0 means no limit. */
  maxInflight: 0,
  /** 0: no exec timeout (qfaas-watchdog's `exec_timeout` defaults to 10 s instead, as of-watchdog does). */
  execTimeoutMs: 0,
  /** Keep-alive sockets to the function's own HTTP server (proxy mode). */
  upstreamMaxSockets: 256,
});
