import { QfaasError } from '../../errors.js';

/** HTTP/3 (RFC 9114 section 8.1) and QPACK (RFC 9204 section 6) error codes. */
export const h3ErrorCodes = {
  H3_NO_ERROR: 0x100,
  H3_GENERAL_PROTOCOL_ERROR: 0x101,
  H3_INTERNAL_ERROR: 0x102,
  H3_STREAM_CREATION_ERROR: 0x103,
  H3_CLOSED_CRITICAL_STREAM: 0x104,
  H3_FRAME_UNEXPECTED: 0x105,
  H3_FRAME_ERROR: 0x106,
  H3_EXCESSIVE_LOAD: 0x107,
  H3_ID_ERROR: 0x108,
  H3_SETTINGS_ERROR: 0x109,
  H3_MISSING_SETTINGS: 0x10a,
  H3_REQUEST_REJECTED: 0x10b,
  H3_REQUEST_CANCELLED: 0x10c,
  H3_REQUEST_INCOMPLETE: 0x10d,
  H3_MESSAGE_ERROR: 0x10e,
  H3_CONNECT_ERROR: 0x10f,
  H3_VERSION_FALLBACK: 0x110,
  QPACK_DECOMPRESSION_FAILED: 0x200,
  QPACK_ENCODER_STREAM_ERROR: 0x201,
  QPACK_DECODER_STREAM_ERROR: 0x202,
} as const;

/** The RFC name of an HTTP/3 or QPACK error code. */
export type H3ErrorName = keyof typeof h3ErrorCodes;

const namesByCode = new Map<number, H3ErrorName>(
  Object.entries(h3ErrorCodes).map(([name, code]) => [code, name as H3ErrorName]),
);

/** The RFC name of an application error code, or its hex value when unknown (e.g. grease). */
export function h3ErrorName(code: number): string {
  return namesByCode.get(code) ?? `0x${code.toString(16)}`;
}

/**
 * An HTTP/3 or QPACK protocol error. `scope: 'connection'` closed the whole connection with
 * CONNECTION_CLOSE; `scope: 'stream'` reset one request stream. `initiator` says which side
 * detected it.
 */
export class Http3Error extends QfaasError {
  override readonly name = 'Http3Error';
  readonly code: H3ErrorName | 'H3_UNKNOWN_ERROR';
  readonly errorCode: number;
  readonly scope: 'connection' | 'stream';
  readonly initiator: 'local' | 'peer';

  constructor(
    errorCode: number,
    detail: string,
    options: { scope: 'connection' | 'stream'; initiator?: 'local' | 'peer'; cause?: unknown },
  ) {
    const name = namesByCode.get(errorCode);
    super(`${name ?? `HTTP/3 error 0x${errorCode.toString(16)}`}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = name ?? 'H3_UNKNOWN_ERROR';
    this.errorCode = errorCode;
    this.scope = options.scope;
    this.initiator = options.initiator ?? 'local';
  }
}

/** Thrown by parsers for a problem that closes the connection. */
export function connectionError(name: H3ErrorName, detail: string): Http3Error {
  return new Http3Error(h3ErrorCodes[name], detail, { scope: 'connection' });
}

/** Thrown by parsers and validators for a problem that resets one stream only. */
export function streamError(name: H3ErrorName, detail: string): Http3Error {
  return new Http3Error(h3ErrorCodes[name], detail, { scope: 'stream' });
}

/**
 * A header section was not sent because it exceeds the peer's SETTINGS_MAX_FIELD_SECTION_SIZE
 * (RFC 9114 section 4.2.2); nothing left this side.
 */
export class Http3FieldSectionTooLargeError extends QfaasError {
  override readonly name = 'Http3FieldSectionTooLargeError';
  readonly code = 'H3_FIELD_SECTION_TOO_LARGE';
  readonly size: number;
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(`header section of ${size} bytes exceeds the peer's limit of ${limit} bytes`);
    this.size = size;
    this.limit = limit;
  }
}

/** The peer sent GOAWAY: the request was not processed and may be retried on a new connection. */
export class Http3GoawayError extends QfaasError {
  override readonly name = 'Http3GoawayError';
  readonly code = 'H3_GOAWAY';

  constructor(detail: string) {
    super(detail);
  }
}
