export { QfaasConfigError, QfaasError, isQfaasConfigError, isQfaasError } from './errors.js';
export * from './transport/index.js';
