export { earlyNonceHeader, earlyTimestampHeader, markEarlyRequest, readEarlyRequestMark, type EarlyDataMark } from './early-data-headers.js';
export { IdempotencyCache, type IdempotencyOptions } from './idempotency.js';
export { isEarlyDataEligible, zeroRttPolicies, type HeadersLike, type ZeroRttPolicy } from './policy.js';
export { RedisStrikeRegister, type RedisStrikeRegisterOptions } from './redis-strike-register.js';
export { ReplayGuard, type GuardVerdict, type ReplayGuardMetrics, type ReplayGuardOptions } from './server-guard.js';
export {
  MemoryStrikeRegister,
  StrikeRegisterUnavailableError,
  type MemoryStrikeRegisterOptions,
  type StrikeRegister,
} from './strike-register.js';
