import { isQfaasErrorNamed, QfaasError } from '../errors.js';

/** The stable codes of InvokerError; each has fixed `retryable` and `mayHaveRun` facts. */
export type InvokerErrorCode =
  | 'QFAAS_INVOKER_CLOSED'
  | 'QFAAS_CONNECT_TIMEOUT'
  | 'QFAAS_REQUEST_TIMEOUT'
  | 'QFAAS_POOL_EXHAUSTED'
  | 'QFAAS_WORKER_DRAINING'
  | 'QFAAS_WORKER_BUSY'
  | 'QFAAS_REQUEST_INTERRUPTED'
  | 'QFAAS_PEER_UNREACHABLE';

/**
 * What each code means for the caller, unless the error says otherwise (`mayHaveRun` of
 * QFAAS_PEER_UNREACHABLE and QFAAS_REQUEST_TIMEOUT depends on whether the request had left).
 * `retryable`: the fault lies with this worker or the path to it, so another worker may serve the
 * request. `mayHaveRun`: the worker may have executed it; send it again only if it is idempotent.
 */
export const invokerErrorFacts: Readonly<Record<InvokerErrorCode, { retryable: boolean; mayHaveRun: boolean }>> = {
  QFAAS_INVOKER_CLOSED: { retryable: false, mayHaveRun: false },
  QFAAS_CONNECT_TIMEOUT: { retryable: true, mayHaveRun: false },
  QFAAS_REQUEST_TIMEOUT: { retryable: true, mayHaveRun: true },
  QFAAS_POOL_EXHAUSTED: { retryable: true, mayHaveRun: false },
  QFAAS_WORKER_DRAINING: { retryable: true, mayHaveRun: false },
  QFAAS_WORKER_BUSY: { retryable: true, mayHaveRun: false },
  QFAAS_REQUEST_INTERRUPTED: { retryable: true, mayHaveRun: true },
  QFAAS_PEER_UNREACHABLE: { retryable: true, mayHaveRun: true },
};

/** The invoker refused or gave up on a request; `code` says why. */
export class InvokerError extends QfaasError {
  override readonly name = 'InvokerError';
  readonly code: InvokerErrorCode;
  /** Another worker (or a later attempt) may serve the request: the fault is not the request's. */
  readonly retryable: boolean;
  /** The worker may have executed the request: only an idempotent request may be sent again. */
  readonly mayHaveRun: boolean;

  constructor(code: InvokerErrorCode, message: string, options?: { cause?: unknown; mayHaveRun?: boolean }) {
    super(message, options);
    this.code = code;
    this.retryable = invokerErrorFacts[code].retryable;
    this.mayHaveRun = options?.mayHaveRun ?? invokerErrorFacts[code].mayHaveRun;
  }
}

/** True for an InvokerError (also from another copy of the package). */
export function isInvokerError(value: unknown): value is InvokerError {
  return isQfaasErrorNamed<InvokerError>(value, 'InvokerError');
}
