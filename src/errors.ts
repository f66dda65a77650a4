/**
 * One base class for every error qfaas throws, with a literal `name` and a stable string `code`
 * that callers can switch on without parsing messages.
 */
export abstract class QfaasError extends Error {
  abstract override readonly name: string;
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A brand on every qfaas error, registered with `Symbol.for`: two copies of the package (a
 * duplicate install) have different classes, so `instanceof` fails across them, but the brand
 * does not. The `is…Error` functions check it.
 */
const qfaasErrorBrand = Symbol.for('qfaas.error');
Object.defineProperty(QfaasError.prototype, qfaasErrorBrand, { value: true });

/** True for any error thrown by qfaas, also one from another copy of the package. */
export function isQfaasError(value: unknown): value is QfaasError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[qfaasErrorBrand] === true;
}

/** True for a qfaas error of the given `name` (also from another copy of the package). */
export function isQfaasErrorNamed<T extends QfaasError>(value: unknown, name: T['name']): value is T {
  return isQfaasError(value) && value.name === name;
}

/** A configuration value was refused; `field` names the option, the message says why. */
export class QfaasConfigError extends QfaasError {
  override readonly name = 'QfaasConfigError';
  readonly code = 'QFAAS_INVALID_CONFIG';
  readonly field: string;

  constructor(field: string, reason: string, options?: { cause?: unknown }) {
    super(`invalid option ${field}: ${reason}`, options);
    this.field = field;
  }
}

/** True for a QfaasConfigError (also from another copy of the package). */
export function isQfaasConfigError(value: unknown): value is QfaasConfigError {
  return isQfaasErrorNamed<QfaasConfigError>(value, 'QfaasConfigError');
}

/**
 * Builds an error without capturing a stack trace. For the reason a connection or stream ended,
 * made on every close whether or not anyone reads it: its stack would only show the event loop,
 * and capturing one would be a cost on every connection (docs/performance.md).
 */
export function withoutStack<T extends Error>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
