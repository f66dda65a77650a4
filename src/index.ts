export { QfaasConfigError, QfaasError, isQfaasConfigError, isQfaasError } from './errors.js';
export * from './transport/index.js';
export * from './zero-rtt/index.js';
