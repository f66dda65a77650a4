export { isEarlyDataEligible, zeroRttPolicies, type HeadersLike, type ZeroRttPolicy } from './policy.js';
