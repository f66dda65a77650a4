/**
 * The platform's certificate authority: every worker, gateway and client certificate of one
 * platform chains to it, so mutual TLS needs no other trust configuration.
 * ECDSA P-256 keys made with WebCrypto; certificates encoded by @peculiar/x509.
 */
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { QfaasConfigError } from '../errors.js';
import { zeroRttDefaults } from './defaults.js';

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type KeyPair = webcrypto.CryptoKeyPair;

/** What a certificate is for; decides its extended key usage and is recorded in its subject (OU). */
export type CertificateRole = 'worker' | 'gateway' | 'invoker' | 'chain';

const roles: readonly CertificateRole[] = ['worker', 'gateway', 'invoker', 'chain'];

/** A certificate from the platform CA with its private key, PEM encoded. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

/** What `ca.issue()` certifies: a role, a name and the hosts it may serve. */
export interface IssueOptions {
  role: CertificateRole;
  /** The identity: a DNS name for servers (also the first SAN), a client's name for clients. */
  name: string;
  /** Further DNS names and IP addresses for the SAN. @default none: only the name */
  hosts?: readonly string[];
  /** Validity. @default 30 days; servers rotate by re-provisioning. */
  validityMs?: number;
}

/** The platform's certificate authority: its certificate, and issuing for workers, gateways and invokers. */
export interface PlatformCA {
  /** The CA certificate, PEM: what every endpoint trusts. */
  readonly certPem: string;
  issue(options: IssueOptions): Promise<IssuedCertificate>;
  /** The CA private key, PEM. Only for persisting the CA; never log it. */
  exportKeyPem(): string;
}

/** Options of `createPlatformCA`: the CA's name and validity. */
export interface CreatePlatformCAOptions {
  /** Subject common name. @default 'qfaas platform CA' */
  commonName?: string;
  /** Validity. @default 365 days */
  validityMs?: number;
}

/** Tolerates clock skew between the control plane and the hosts checking certificates. */
const backdateMs = 5 * 60_000;

/** Creates a new platform CA with a fresh ECDSA P-256 key. */
export async function createPlatformCA(options: CreatePlatformCAOptions = {}): Promise<PlatformCA> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as KeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${escapeDnValue(options.commonName ?? 'qfaas platform CA')}`,
    notBefore: new Date(now - backdateMs),
    notAfter: new Date(now + (options.validityMs ?? zeroRttDefaults.caValidityMs)),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const keyPem = toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return platformCA(certificate, keys.privateKey, keyPem);
}

/** Loads a CA from its PEM certificate and PKCS#8 PEM key; refuses a key that is not the certificate's. */
export async function loadPlatformCA(source: { certPem: string; keyPem: string }): Promise<PlatformCA> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(source.certPem);
  } catch (error) {
    throw new QfaasConfigError('certPem', 'is not a PEM X.509 certificate', { cause: error });
  }
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  if (basic === null || !basic.ca) throw new QfaasConfigError('certPem', 'is not a CA certificate (basicConstraints cA is not set)');
  let nodeKey: ReturnType<typeof createPrivateKey>;
  try {
    nodeKey = createPrivateKey({ key: source.keyPem, format: 'pem' });
  } catch {
    throw new QfaasConfigError('keyPem', 'is not a parsable PEM private key');
  }
  if (!new X509Certificate(source.certPem).checkPrivateKey(nodeKey)) {
    throw new QfaasConfigError('keyPem', 'does not belong to certPem');
  }
  const pkcs8 = nodeKey.export({ format: 'der', type: 'pkcs8' });
  let privateKey: webcrypto.CryptoKey;
  try {
    privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']);
  } catch {
    throw new QfaasConfigError('keyPem', 'must be an ECDSA P-256 key');
  }
  return platformCA(certificate, privateKey, toPem('PRIVATE KEY', pkcs8));
}

function platformCA(certificate: x509.X509Certificate, signingKey: webcrypto.CryptoKey, keyPem: string): PlatformCA {
  const certPem = certificate.toString('pem');
  // The same for every certificate this CA issues: compute it once.
  const authorityKeyIdentifier = x509.AuthorityKeyIdentifierExtension.create(certificate);
  const ca: PlatformCA = {
    certPem,
    exportKeyPem: () => keyPem,
    async issue(options) {
      validateIssueOptions(options);
      const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as KeyPair;
      const now = Date.now();
      const serverRole = options.role === 'worker' || options.role === 'gateway';
      const usages = serverRole
        ? [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]
        : [x509.ExtendedKeyUsage.clientAuth];
      const names = [options.name, ...(options.hosts ?? [])];
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: `CN=${escapeDnValue(options.name)}, OU=${options.role}`,
        issuer: certificate.subject,
        notBefore: new Date(now - backdateMs),
        notAfter: new Date(now + (options.validityMs ?? zeroRttDefaults.issuedCertificateValidityMs)),
        signingAlgorithm: algorithm,
        publicKey: keys.publicKey,
        signingKey,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(usages),
          new x509.SubjectAlternativeNameExtension(
            names.map((value) => (isIP(value) === 0 ? { type: 'dns' as const, value } : { type: 'ip' as const, value })),
          ),
          await authorityKeyIdentifier,
        ],
      });
      return {
        certPem: leaf.toString('pem'),
        keyPem: toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
      };
    },
  };
  // The key must never reach a log through util.inspect or JSON.stringify.
  Object.defineProperties(ca, {
    [Symbol.for('nodejs.util.inspect.custom')]: { value: () => 'PlatformCA { certPem: [certificate], key: [redacted] }' },
    toJSON: { value: () => ({ certPem }) },
  });
  return ca;
}

const dnsName = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function validateIssueOptions(options: IssueOptions): void {
  if (!roles.includes(options.role)) throw new QfaasConfigError('role', `must be one of ${roles.join(', ')}`);
  if (typeof options.name !== 'string' || options.name.length === 0 || options.name.length > 253) {
    throw new QfaasConfigError('name', 'must be 1 to 253 characters');
  }
  const serverRole = options.role === 'worker' || options.role === 'gateway';
  if (serverRole && !dnsName.test(options.name)) {
    throw new QfaasConfigError('name', 'must be a DNS name for a server certificate');
  }
  for (const host of options.hosts ?? []) {
    if (isIP(host) === 0 && !dnsName.test(host)) throw new QfaasConfigError('hosts', `"${host}" is neither an IP address nor a DNS name`);
  }
  if (options.validityMs !== undefined && !(options.validityMs > 0)) {
    throw new QfaasConfigError('validityMs', 'must be a positive number of milliseconds');
  }
}

function escapeDnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

function randomSerial(): string {
  // 16 random bytes with the top bit clear: a positive INTEGER, as RFC 5280 section 4.1.2.2 asks.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function toPem(label: string, der: ArrayBuffer | Buffer): string {
  const base64 = Buffer.from(der as ArrayBuffer).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${base64}\n-----END ${label}-----\n`;
}
