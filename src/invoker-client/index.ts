export { InvokerError, isInvokerError, type InvokerErrorCode } from '../errors.js';
export {
  InvokerClient,
  type InvokerClientOptions,
  type InvokerRequestOptions,
  type InvokerResponse,
  type InvokerTarget,
} from './invoker-client.js';
export type { InvokerFetchInit } from './fetch-arguments.js';
export { getResponseInfo, type ResponseInfo, type TransportInfo } from '../transport/h3/response-info.js';
export { latencyBuckets, prometheusText, type InvokerMetricsSnapshot } from './metrics.js';
export type { MessageBody } from '../transport/h3/message-body.js';
export type { IncomingHeaders, OutgoingHeaders } from '../transport/h3/header-fields.js';
export type { BodyInput } from '../transport/h3/message-writer.js';
export { invokerDefaults } from './defaults.js';
