export {
  isQfaasConfigError,
  isQfaasError,
  QfaasConfigError,
  QfaasError,
  qfaasErrorCodes,
  type ErrorCodeFacts,
  type QfaasErrorCode,
  type QfaasErrorOptions,
} from './errors.js';
export * from './transport/index.js';
export * from './zero-rtt/index.js';
export * from './invoker-client/index.js';
export * from './handler-server/index.js';
export * from './replay-guard/index.js';
export * from './chain/index.js';
