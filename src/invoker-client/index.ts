export { InvokerError, isInvokerError, type InvokerErrorCode } from '../errors.js';
export {
  getTransportInfo,
  InvokerClient,
  type InvokerClientOptions,
  type InvokerRequestOptions,
  type InvokerResponse,
  type InvokerTarget,
  type TransportInfo,
} from './invoker-client.js';
export { latencyBuckets, prometheusText, type InvokerMetricsSnapshot } from './metrics.js';
export type { MessageBody } from '../transport/h3/message-body.js';
export type { IncomingHeaders, OutgoingHeaders } from '../transport/h3/header-fields.js';
export type { BodyInput } from '../transport/h3/message-writer.js';
export { invokerDefaults } from './defaults.js';
