export {
  callIdOf,
  chain,
  ChainClient,
  createChainClient,
  isFunctionError,
  isPlatformError,
  type ChainClientOptions,
  type ChainRequestOptions,
  type InvokeAsyncInit,
  type InvokeInit,
} from './chain-client.js';
export {
  createChainGateway,
  type ChainCaller,
  type ChainGateway,
  type ChainGatewayCredentials,
  type ChainGatewayMetrics,
  type ChainGatewayOptions,
} from './chain-gateway.js';
export { chainHeaders, defaultHopLimit } from './headers.js';
export { chainGatewayDefaults } from './defaults.js';
