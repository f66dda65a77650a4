export {
  createPlatformCA,
  loadPlatformCA,
  type CertificateRole,
  type CreatePlatformCAOptions,
  type IssueOptions,
  type IssuedCertificate,
  type PlatformCA,
} from './platform-ca.js';
export { chainCredentialsEnvVar, credentialsEnvValue, credentialsEnvVar, encodeChainCredentials, encodeCredentials, loadChainCredentials, loadCredentials, type ChainCredentials, type FunctionChainCredentials, type CredentialsFormat, type CredentialsSource, type WorkerCredentials } from './credentials.js';
export { CredentialsError } from '../errors.js';
export {
  ZeroRttGenerator,
  type ChainGatewayIdentity,
  type ProvisionRequest,
  type Provisioned,
  type ZeroRttGeneratorOptions,
} from './generator.js';
export { MemoryTicketStore, type MemoryTicketStoreOptions } from './memory-ticket-store.js';
export { RedisTicketStore, type RedisTicketStoreOptions } from './redis-ticket-store.js';
export { Secret } from './secret.js';
export { mintSession } from './session-minting.js';
export { SessionMintingError } from '../errors.js';
export { decodeStoredSession, encodeStoredSession, FailSafeTicketStore, type FailSafeTicketStoreOptions, type StoredSession, type TicketStore } from './ticket-store.js';
export { TicketStoreError } from '../errors.js';
export { createChainClientQuicConfig, createWorkerQuicConfig } from './worker-config.js';
export { zeroRttDefaults } from './defaults.js';
