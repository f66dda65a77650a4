export {
  defaultDrainTimeoutMs,
  defaultHeadersTimeoutMs,
  defaultMaxUnfinishedHeaderBytes,
  Http3Connection,
  type Http3ConnectionOptions,
  type Http3ServerEvents,
} from './connection.js';
export { ClientExchange, type Http3RequestOptions, type Http3ResponseData } from './client-request.js';
export type { IncomingHeaders, OutgoingHeaders } from './header-fields.js';
export { MessageBody } from './message-body.js';
export type { BodyInput } from './message-writer.js';
export type { Http3IncomingRequest, Http3RequestHandler, Http3RequestInfo, OutgoingResponse } from './server-request.js';
export type { PeerIdentity } from './connection-facts.js';
export { type Http3Handler, type Http3WebRequestInfo } from './web-adapters.js';
export { getResponseInfo, type ResponseInfo, type TransportInfo } from './response-info.js';
export { h3ErrorCodes, h3ErrorName, type H3ErrorName } from './error-codes.js';
export { Http3Error, Http3FieldSectionTooLargeError, Http3GoawayError } from '../../errors.js';
export { type Field } from './qpack/field-section.js';
export { connectHttp3 } from './client.js';
export { createHttp3Server, serveHttp3, type Http3Server, type Http3ServerOptions } from './server.js';
export { defaultMaxFieldSectionSize, type Http3PeerSettings } from './settings.js';
export { type H3Stream, type H3Transport } from './transport.js';
