import { createQuicConfig, type CertificateAndKey, type QuicTransportSettings, type QuicConfig } from '../transport/quic/config.js';
import { checkCredentialsCurrent, type WorkerCredentials } from './credentials.js';

/**
 * The QUIC server config of a worker, from its credentials. The 0-RTT generator mints sessions
 * against exactly this config, so a worker must build its config here too, with the same
 * `transport` settings as the generator (RFC 9000 section 7.4.1: a server accepting 0-RTT must
 * not advertise smaller limits than the one that issued the session).
 */
export function createWorkerQuicConfig(
  credentials: WorkerCredentials,
  options: { transport?: QuicTransportSettings; clientAuth?: 'required' | 'none' } = {},
): QuicConfig {
  checkCredentialsCurrent(credentials.certificate.certPem, 'certPem');
  return createQuicConfig({
    role: 'server',
    caPem: credentials.caPem,
    certificate: { certPem: credentials.certificate.certPem, keyPem: credentials.certificate.keyPem.reveal() },
    ticketKey: credentials.ticketKey.reveal(),
    clientAuth: options.clientAuth ?? credentials.clientAuth,
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
}

/** The QUIC client config a worker's function code uses towards the chain gateway. */
export function createChainClientQuicConfig(credentials: WorkerCredentials, options: { transport?: QuicTransportSettings } = {}): QuicConfig | undefined {
  const chain = credentials.chain;
  if (chain === undefined) return undefined;
  checkCredentialsCurrent(chain.certificate.certPem, 'chain.certPem');
  return createQuicConfig({
    role: 'client',
    caPem: credentials.caPem,
    certificate: { certPem: chain.certificate.certPem, keyPem: chain.certificate.keyPem.reveal() },
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
}

/**
 * The QUIC server config of the chain gateway. The generator mints the workers' gateway sessions
 * against exactly this config (mutual TLS required: only function instances may call).
 */
export function createChainGatewayQuicConfig(
  identity: { caPem: string; certificate: CertificateAndKey; ticketKey: Uint8Array },
  options: { transport?: QuicTransportSettings } = {},
): QuicConfig {
  return createQuicConfig({
    role: 'server',
    caPem: identity.caPem,
    certificate: identity.certificate,
    ticketKey: identity.ticketKey,
    clientAuth: 'required',
    ...(options.transport === undefined ? {} : { transport: options.transport }),
  });
}
