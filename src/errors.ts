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

/** True for any error thrown by qfaas. */
export function isQfaasError(value: unknown): value is QfaasError {
  return value instanceof QfaasError;
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

export function isQfaasConfigError(value: unknown): value is QfaasConfigError {
  return value instanceof QfaasConfigError;
}

/**
 * Builds an error without capturing a stack trace. For the reason a connection or stream ended,
 * made on every close whether or not anyone reads it: its stack would only show the event loop,
 * and capturing one costs tens of microseconds per connection.
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
