export {
  createPlatformCA,
  loadPlatformCA,
  type CertificateRole,
  type CreatePlatformCAOptions,
  type IssueOptions,
  type IssuedCertificate,
  type PlatformCA,
} from './platform-ca.js';
