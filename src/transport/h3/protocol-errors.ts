import { Http3Error } from '../../errors.js';
import { h3ErrorCodes, type H3ErrorName } from './error-codes.js';

/** Thrown by parsers for a problem that closes the connection. */
export function connectionError(name: H3ErrorName, detail: string): Http3Error {
  return new Http3Error(h3ErrorCodes[name], detail, { scope: 'connection' });
}

/** Thrown by parsers and validators for a problem that resets one stream only. */
export function streamError(name: H3ErrorName, detail: string): Http3Error {
  return new Http3Error(h3ErrorCodes[name], detail, { scope: 'stream' });
}
