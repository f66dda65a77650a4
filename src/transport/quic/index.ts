export {
  createQuicConfig,
  QuicConfig,
  defaultTransportSettings,
  maxUdpPayloadLimit,
  ticketKeyLength,
  type CertificateAndKey,
  type Pem,
  type QuicClientConfigOptions,
  type QuicConfigOptions,
  type QuicServerConfigOptions,
  type QuicTransportSettings,
} from './config.js';
export {
  QuicConnectionDriver,
  type AcceptDriverOptions,
  type ConnectDriverOptions,
  type HostPort,
  type QuicConnectionStats,
  type QuicDriverEvent,
  type QuicRole,
} from './connection-driver.js';
export { QuicConnection, type HandshakeInfo } from './connection.js';
export {
  QuicEndpoint,
  createQuicClient,
  createQuicServer,
  defaultAdmission,
  type QuicAdmissionOptions,
  type QuicConnectOptions,
  type QuicEndpointOptions,
  type QuicEndpointStats,
  type QuicListenOptions,
  type QuicRetryOptions,
} from './endpoint.js';
export {
  QuicConnectionClosedError,
  QuicEndpointClosedError,
  QuicIdleTimeoutError,
  QuicInternalError,
  QuicStatelessResetError,
  QuicStreamResetError,
  QuicStreamStateError,
  QuicStreamStoppedError,
  QuicTlsError,
  type CloseInitiator,
  type QuicConnectionError,
  type QuicIdleStage,
  type QuicPeerDescription,
  type QuicTlsErrorDetails,
} from '../../errors.js';
export { createRetryTokenMinter, type RetryTokenMinter } from './retry-token.js';
export { QuicStream } from './stream.js';
