import { createPrivateKey, X509Certificate } from 'node:crypto';
import { QfaasConfigError } from '../../errors.js';
import { quiche, type QuicheConfig } from './binding.js';

/**
 * QUIC transport parameters and local limits. Every endpoint of a platform should use the same
 * values: a server that accepts 0-RTT must not advertise smaller limits than the server that minted
 * the session (RFC 9000 section 7.4.1), so the 0-RTT generator and the worker both build their
 * config with {@link createQuicConfig}.
 */
export interface QuicTransportSettings {
  /**
   * Close the connection after this long without a packet from the peer (RFC 9000 section 10.1).
   * 0 disables the idle timeout (not recommended: a vanished peer is then never noticed).
   * @default 30_000
   */
  maxIdleTimeoutMs?: number;
  /** Connection-level flow control window advertised to the peer, in bytes. @default 16 MiB */
  initialMaxData?: number;
  /** Per-stream window for streams this side opens, in bytes. @default 1 MiB */
  initialMaxStreamDataBidiLocal?: number;
  /** Per-stream window for bidirectional streams the peer opens, in bytes. @default 1 MiB */
  initialMaxStreamDataBidiRemote?: number;
  /** Per-stream window for unidirectional streams the peer opens, in bytes. @default 1 MiB */
  initialMaxStreamDataUni?: number;
  /** How many bidirectional streams the peer may open at once. 0 forbids them. @default 128 */
  initialMaxStreamsBidi?: number;
  /** How many unidirectional streams the peer may open at once (HTTP/3 needs at least 3). @default 16 */
  initialMaxStreamsUni?: number;
  /** Largest per-stream window quiche's auto-tuning may grow to, in bytes. @default 16 MiB */
  maxStreamWindow?: number;
  /** Largest connection window quiche's auto-tuning may grow to, in bytes. @default 24 MiB */
  maxConnectionWindow?: number;
  /**
   * Largest UDP payload sent, in bytes, from 1200 to 16383 (quiche sends none larger). Above about
   * 1450 only where every hop carries it (jumbo frames: 8952 on a 9000-byte MTU); an endpoint
   * sending more than 1500 needs as large a `maxDatagramSize` (createQuicServer and the invoker
   * size it from their config). @default 1350
   */
  maxUdpPayloadSize?: number;
  /** Congestion controller. @default 'cubic' */
  congestionControl?: 'cubic' | 'reno' | 'bbr';
  /**
   * Spread each congestion window over the round trip instead of sending it in one burst (RFC 9002
   * section 7.7), at quiche's rate of 1.25 windows per smoothed RTT, in bursts of at least 64 KiB.
   * Paths whose smoothed RTT was ever below 10 ms are not paced, so nothing inside a data centre
   * waits for it. `false` sends whatever quiche allows at once.
   * @default true
   */
  pacing?: boolean;
}

/** The transport settings used where `transport` leaves one out; every endpoint of a platform must agree on them for 0-RTT. */
export const defaultTransportSettings: Readonly<Required<QuicTransportSettings>> = Object.freeze({
  maxIdleTimeoutMs: 30_000,
  initialMaxData: 16 * 1024 * 1024,
  initialMaxStreamDataBidiLocal: 1024 * 1024,
  initialMaxStreamDataBidiRemote: 1024 * 1024,
  initialMaxStreamDataUni: 1024 * 1024,
  initialMaxStreamsBidi: 128,
  initialMaxStreamsUni: 16,
  maxStreamWindow: 16 * 1024 * 1024,
  maxConnectionWindow: 24 * 1024 * 1024,
  maxUdpPayloadSize: 1350,
  congestionControl: 'cubic',
  pacing: true,
});

/** PEM text or bytes. */
export type Pem = string | Uint8Array;

/** Certificate chain and private key of this endpoint, PEM encoded. */
export interface CertificateAndKey {
  certPem: Pem;
  keyPem: Pem;
}

interface CommonConfigOptions {
  /** CA certificate(s), PEM, that the peer's certificate must chain to. @default none (needed whenever the peer's certificate is verified) */
  caPem?: Pem;
  /** This endpoint's certificate; required for a server, optional for a client (mutual TLS). @default none: no client certificate */
  certificate?: CertificateAndKey;
  /** ALPN protocols offered or accepted, in order of preference. @default ['h3'] */
  alpn?: readonly string[];
  /** Transport parameters; see {@link QuicTransportSettings}. @default `defaultTransportSettings` */
  transport?: QuicTransportSettings;
}

/** Options of a server config for `createQuicConfig`. */
export interface QuicServerConfigOptions extends CommonConfigOptions {
  role: 'server';
  certificate: CertificateAndKey;
  /**
   * 48-byte key that encrypts session tickets. Servers sharing a key accept each other's sessions
   * in 0-RTT. Without one, BoringSSL picks a random key per process: sessions survive only as long
   * as the process.
   * @default a random key per config (sessions then resume only against this process)
   */
  ticketKey?: Uint8Array;
  /**
   * `'required'`: the client must present a certificate chaining to `caPem` (mutual TLS).
   * `'none'`: clients are not asked for a certificate.
   * @default 'required'
   */
  clientAuth?: 'required' | 'none';
  /** Accept 0-RTT early data from resumed sessions. @default true */
  earlyData?: boolean;
}

/** Options of a client config for `createQuicConfig`. */
export interface QuicClientConfigOptions extends CommonConfigOptions {
  role: 'client';
  /**
   * Skip verification of the server's certificate and name. Only for debugging: anyone on the path
   * can then impersonate the server. Emits a process warning when used.
   * @default false
   */
  insecureSkipVerify?: boolean;
}

/** Options of `createQuicConfig`, by role. */
export type QuicConfigOptions = QuicServerConfigOptions | QuicClientConfigOptions;

/** Signature algorithms BoringSSL supports for TLS 1.3 (it has no rsa_pss_pss_* and no ed448). */
const signatureAlgorithms = [
  'ecdsa_secp256r1_sha256',
  'ecdsa_secp384r1_sha384',
  'ed25519',
  'rsa_pss_rsae_sha256',
  'rsa_pss_rsae_sha384',
  'rsa_pss_rsae_sha512',
  'rsa_pkcs1_sha256',
  'rsa_pkcs1_sha384',
  'rsa_pkcs1_sha512',
].join(':');

/** Bytes of a session ticket key (BoringSSL's 48: name, HMAC and AES keys). */
export const ticketKeyLength = 48;

/** Largest `maxUdpPayloadSize`: quiche caps what it sends on an established connection at 16383 bytes. */
export const maxUdpPayloadLimit = 16383;

let insecureWarningEmitted = false;

/**
 * A QUIC configuration: TLS identity and trust, ALPN, transport settings, 0-RTT. Opaque: build it
 * with {@link createQuicConfig} and hand it to endpoints; the native object inside stays private.
 */
export class QuicConfig {
  readonly role: 'client' | 'server';

  /**
   * @internal use {@link createQuicConfig}. `native` is typed `unknown` so that no type of the
   * native binding reaches the published declarations (a strict consumer would need its DOM lib).
   */
  constructor(role: 'client' | 'server', native: unknown, key: symbol) {
    if (key !== constructionKey) throw new QfaasConfigError('config', 'build it with createQuicConfig()');
    this.role = role;
    natives.set(this, native as QuicheConfig);
  }
}

const constructionKey = Symbol('QuicConfig');
const natives = new WeakMap<QuicConfig, QuicheConfig>();
/** The resolved transport settings of each config: quiche does not give them back. */
const transportSettings = new WeakMap<QuicConfig, Readonly<Required<QuicTransportSettings>>>();

/** @internal The native config inside, for the driver that hands it to quiche. */
export function nativeQuicheConfig(config: QuicConfig): QuicheConfig {
  const native = natives.get(config);
  if (native === undefined) throw new QfaasConfigError('config', 'not a QuicConfig from createQuicConfig()');
  return native;
}

/** @internal The transport settings a config was built with (the defaults for one of unknown origin). */
export function configTransportSettings(config: QuicConfig): Readonly<Required<QuicTransportSettings>> {
  return transportSettings.get(config) ?? defaultTransportSettings;
}

/** @internal The largest datagram a connection with this config sends, for the endpoint whose send buffers must hold it. */
export function configMaxUdpPayloadSize(config: QuicConfig): number {
  return configTransportSettings(config).maxUdpPayloadSize;
}

/**
 * Builds a QUIC config. The result is reusable for any number of connections; build it once
 * per role and credentials, since loading certificates parses PEM.
 */
export function createQuicConfig(options: QuicConfigOptions): QuicConfig {
  const settings = resolveTransportSettings(options.transport);
  const alpn = options.alpn ?? ['h3'];
  validateAlpn(alpn);
  const certificate = options.certificate;
  if (options.role === 'server' && certificate === undefined) {
    throw new QfaasConfigError('certificate', 'a server needs a certificate and key');
  }
  const verifyPeer =
    options.role === 'server' ? (options.clientAuth ?? 'required') === 'required' : options.insecureSkipVerify !== true;
  if (verifyPeer && options.caPem === undefined) {
    throw new QfaasConfigError(
      'caPem',
      options.role === 'server'
        ? "needed to verify client certificates (or set clientAuth: 'none')"
        : 'needed to verify the server certificate',
    );
  }
  if (options.role === 'client' && options.insecureSkipVerify === true && !insecureWarningEmitted) {
    insecureWarningEmitted = true;
    process.emitWarning(
      'qfaas: insecureSkipVerify is set; server certificates are not verified and the connection can be intercepted',
      { code: 'QFAAS_INSECURE_SKIP_VERIFY' },
    );
  }

  const caBytes = options.caPem === undefined ? null : pemBytes(options.caPem, 'caPem', 'CERTIFICATE');
  if (caBytes !== null) parseCertificate(caBytes, 'caPem');
  if (certificate !== undefined) checkCertificateAndKey(certificate);
  const keyBytes = certificate === undefined ? null : [pemBytes(certificate.keyPem, 'certificate.keyPem', 'PRIVATE KEY')];
  const certBytes = certificate === undefined ? null : [pemBytes(certificate.certPem, 'certificate.certPem', 'CERTIFICATE')];

  let config: QuicheConfig;
  try {
    config = quiche.Config.withBoringSslCtx(verifyPeer, false, caBytes, keyBytes, certBytes, signatureAlgorithms);
  } catch (error) {
    throw new QfaasConfigError(
      certificate === undefined ? 'caPem' : 'certificate',
      'BoringSSL could not load the PEM (is the key the certificate\'s, and are both valid PEM?)',
      { cause: error },
    );
  }
  config.setApplicationProtos([...alpn]);
  config.setMaxIdleTimeout(settings.maxIdleTimeoutMs);
  config.setMaxRecvUdpPayloadSize(quiche.MAX_UDP_PACKET_SIZE);
  config.setMaxSendUdpPayloadSize(settings.maxUdpPayloadSize);
  config.setInitialMaxData(settings.initialMaxData);
  config.setInitialMaxStreamDataBidiLocal(settings.initialMaxStreamDataBidiLocal);
  config.setInitialMaxStreamDataBidiRemote(settings.initialMaxStreamDataBidiRemote);
  config.setInitialMaxStreamDataUni(settings.initialMaxStreamDataUni);
  config.setInitialMaxStreamsBidi(settings.initialMaxStreamsBidi);
  config.setInitialMaxStreamsUni(settings.initialMaxStreamsUni);
  config.setMaxStreamWindow(settings.maxStreamWindow);
  config.setMaxConnectionWindow(settings.maxConnectionWindow);
  config.setCcAlgorithmName(settings.congestionControl);
  // quiche then only computes send times, which the binding cannot hand over (SendInfo.at is an
  // opaque object): QuicConnection paces by the same rule itself (pacer.ts).
  config.enablePacing(settings.pacing);
  // Connections are routed by connection ID on one socket; migration is not needed inside a cluster.
  config.setDisableActiveMigration(true);
  config.grease(true);

  if (options.role === 'server') {
    if (options.ticketKey !== undefined) {
      if (!(options.ticketKey instanceof Uint8Array) || options.ticketKey.length !== ticketKeyLength) {
        throw new QfaasConfigError('ticketKey', `must be ${ticketKeyLength} bytes`);
      }
      config.setTicketKey(options.ticketKey);
    }
    if (options.earlyData ?? true) config.enableEarlyData();
  } else {
    // The client side only needs this so that quiche sends 0-RTT when a session is set.
    config.enableEarlyData();
  }
  const built = new QuicConfig(options.role, config, constructionKey);
  transportSettings.set(built, settings);
  return built;
}

export function resolveTransportSettings(settings: QuicTransportSettings | undefined): Required<QuicTransportSettings> {
  const resolved = { ...defaultTransportSettings, ...stripUndefined(settings ?? {}) };
  for (const [field, value] of Object.entries(resolved)) {
    if (field === 'congestionControl' || field === 'pacing') continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new QfaasConfigError(`transport.${field}`, 'must be a non-negative integer');
    }
  }
  if (resolved.maxUdpPayloadSize < 1200 || resolved.maxUdpPayloadSize > maxUdpPayloadLimit) {
    throw new QfaasConfigError(
      'transport.maxUdpPayloadSize',
      `must be between 1200 (RFC 9000 section 14) and ${maxUdpPayloadLimit} (quiche sends no larger datagram)`,
    );
  }
  if (!['cubic', 'reno', 'bbr'].includes(resolved.congestionControl)) {
    throw new QfaasConfigError('transport.congestionControl', "must be 'cubic', 'reno' or 'bbr'");
  }
  if (typeof resolved.pacing !== 'boolean') {
    throw new QfaasConfigError('transport.pacing', 'must be true or false');
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validateAlpn(alpn: readonly string[]): void {
  if (alpn.length === 0) throw new QfaasConfigError('alpn', 'needs at least one protocol');
  for (const protocol of alpn) {
    if (typeof protocol !== 'string' || protocol.length === 0 || Buffer.byteLength(protocol) > 255) {
      throw new QfaasConfigError('alpn', 'each protocol must be 1 to 255 bytes');
    }
  }
}

function parseCertificate(pem: Uint8Array, field: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new QfaasConfigError(field, 'is not a parsable X.509 certificate', { cause: error });
  }
}

/** Catches a swapped or mismatched key and an expired certificate before TLS fails obscurely. */
function checkCertificateAndKey(certificate: CertificateAndKey): void {
  const cert = parseCertificate(pemBytes(certificate.certPem, 'certificate.certPem', 'CERTIFICATE'), 'certificate.certPem');
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey({ key: Buffer.from(pemBytes(certificate.keyPem, 'certificate.keyPem', 'PRIVATE KEY')), format: 'pem' });
  } catch {
    // The cause is dropped on purpose: it could quote key material.
    throw new QfaasConfigError('certificate.keyPem', 'is not a parsable private key');
  }
  if (!cert.checkPrivateKey(key)) {
    throw new QfaasConfigError('certificate.keyPem', 'does not belong to certificate.certPem');
  }
  if (Date.parse(cert.validTo) < Date.now()) {
    throw new QfaasConfigError('certificate.certPem', `expired on ${new Date(cert.validTo).toISOString()}`);
  }
}

function pemBytes(pem: Pem, field: string, label: string): Uint8Array {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength).toString('latin1');
  if (!text.includes('-----BEGIN ') || !text.includes(label)) {
    throw new QfaasConfigError(field, `expected PEM with a ${label} block`);
  }
  return typeof pem === 'string' ? Buffer.from(pem, 'latin1') : pem;
}
