import { QfaasError } from '../errors.js';

export type InvokerErrorCode =
  | 'QFAAS_INVOKER_CLOSED'
  | 'QFAAS_CONNECT_TIMEOUT'
  | 'QFAAS_REQUEST_TIMEOUT'
  | 'QFAAS_POOL_EXHAUSTED';

/** The invoker refused or gave up on a request; `code` says why. */
export class InvokerError extends QfaasError {
  override readonly name = 'InvokerError';
  readonly code: InvokerErrorCode;

  constructor(code: InvokerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isInvokerError(value: unknown): value is InvokerError {
  return value instanceof InvokerError;
}
