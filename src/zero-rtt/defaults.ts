const hour = 3600_000;
const day = 24 * hour;

/**
 * Defaults of the 0-RTT layer, in one place. The session lifetime is shared by the generator, the
 * invoker (for the tickets workers send) and the ticket stores' expiry, so they cannot drift.
 */
export const zeroRttDefaults = Object.freeze({
  /** Expiry stored with a session. BoringSSL honours TLS 1.3 tickets for two days; at most 7 (RFC 8446 section 4.6.1). */
  sessionLifetimeMs: day,
  /** Validity of the worker and chain certificates the generator issues. */
  certificateValidityMs: 30 * day,
  /** Validity of a certificate from `ca.issue()`. */
  issuedCertificateValidityMs: 30 * day,
  /** Validity of a new platform CA. */
  caValidityMs: 365 * day,
  /** Sessions a MemoryTicketStore keeps; the least recently used goes first. */
  memoryStoreMaxEntries: 10_000,
  /** Longest wait for a ticket store before going on without it (FailSafeTicketStore). */
  ticketStoreTimeoutMs: 250,
  /** Longest wait for one Redis command (RedisTicketStore). */
  redisCommandTimeoutMs: 200,
});
