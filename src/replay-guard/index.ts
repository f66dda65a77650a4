export { earlyNonceHeader, earlyTimestampHeader, markEarlyRequest, readEarlyRequestMark, type EarlyDataMark } from './early-data-headers.js';
export { IdempotencyCache, type IdempotencyOptions } from './idempotency.js';
export {
  IdempotencyStoreUnavailableError,
  MemoryIdempotencyStore,
  type IdempotencyRecord,
  type IdempotencyStore,
  type MemoryIdempotencyStoreOptions,
  type StoredResponse,
} from './idempotency-store.js';
export { RedisIdempotencyStore, type RedisIdempotencyStoreOptions } from './redis-idempotency-store.js';
export { isEarlyDataEligible, zeroRttPolicies, type HeadersLike, type ZeroRttPolicy } from './policy.js';
export { RedisStrikeRegister, type RedisStrikeRegisterOptions } from './redis-strike-register.js';
export { ReplayGuard, type GuardVerdict, type ReplayGuardMetrics, type ReplayGuardOptions } from './server-guard.js';
export {
  MemoryStrikeRegister,
  StrikeRegisterUnavailableError,
  type MemoryStrikeRegisterOptions,
  type StrikeRegister,
} from './strike-register.js';
