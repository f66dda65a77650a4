export { InvokerError, isInvokerError, type InvokerErrorCode } from './errors.js';
export {
  getTransportInfo,
  InvokerClient,
  type InvokerClientOptions,
  type InvokerTarget,
  type TransportInfo,
} from './invoker-client.js';
export { latencyBuckets, prometheusText, type InvokerMetricsSnapshot } from './metrics.js';
