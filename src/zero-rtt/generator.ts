import { randomBytes } from 'node:crypto';
import { QfaasConfigError } from '../errors.js';
import { createQuicConfig, ticketKeyLength, type CertificateAndKey, type QuicTransportSettings, type QuicConfig } from '../transport/quic/config.js';
import { defaultMaxFieldSectionSize, type Http3PeerSettings } from '../transport/h3/settings.js';
import type { ChainCredentials, WorkerCredentials } from './credentials.js';
import type { IssuedCertificate, PlatformCA } from './platform-ca.js';
import { Secret } from './secret.js';
import { mintSession } from './session-minting.js';
import type { StoredSession } from './ticket-store.js';
import { createChainGatewayQuicConfig, createWorkerQuicConfig } from './worker-config.js';
import { zeroRttDefaults } from './defaults.js';
import { port as checkPort } from '../option-checks.js';

/** The chain gateway a generator mints worker-to-gateway sessions for. */
export interface ChainGatewayIdentity {
  /** The name the chain gateway's certificate carries. */
  serverName: string;
  host?: string;
  port?: number;
  /** The chain gateway's certificate and key (role 'gateway'). */
  certificate: CertificateAndKey;
  /** The chain gateway's 48-byte ticket key: sessions minted with it resume in 0-RTT there. */
  ticketKey: Uint8Array;
}

/** Options of the 0-RTT generator; they must match the workers' configuration. */
export interface ZeroRttGeneratorOptions {
  ca: PlatformCA;
  /**
   * The certificate the gateway's invoker presents to workers. Sessions are minted with it, so a
   * resumed session authenticates as this identity. Issued by the generator when omitted (read it
   * from `generator.invokerCertificate()`).
   * @default issued by the CA on first use
   */
  invokerCertificate?: IssuedCertificate;
  /** QUIC transport settings, identical to what workers and the invoker use. @default library defaults */
  transport?: QuicTransportSettings;
  /** The workers' HTTP/3 SETTINGS_MAX_FIELD_SECTION_SIZE, remembered with each session. @default 65536 */
  maxFieldSectionSize?: number;
  /** Mutual TLS towards workers. @default 'required' */
  clientAuth?: 'required' | 'none';
  /** DNS suffix of worker names: `<instance>.<function>.<domain>`. @default 'qfaas.internal' */
  domain?: string;
  /** Also provision a chain client and a gateway session for function code. @default none: no chain credentials */
  chainGateway?: ChainGatewayIdentity;
  /**
   * How long a minted session is offered for. BoringSSL servers honour TLS 1.3 tickets for two days.
   * @default 24 hours
   */
  sessionLifetimeMs?: number;
  /** Validity of worker and chain client certificates. @default 30 days */
  certificateValidityMs?: number;
}

/** The worker `generator.provision()` makes credentials for. */
export interface ProvisionRequest {
  functionName: string;
  instanceId: string;
  /** IP addresses or further DNS names the worker is reached by (added to its certificate). */
  hosts?: readonly string[];
}

/** What `generator.provision()` returns: the worker's credentials and the invoker's 0-RTT session. */
export interface Provisioned {
  serverName: string;
  /** For the worker: pass them in its environment (`encodeCredentials`). */
  worker: WorkerCredentials;
  /** For the invoker's ticket store under `serverName`: the first request is 0-RTT. */
  session: StoredSession;
  /** The chain gateway session given to the worker (also inside `worker.chain`). */
  chainSession?: StoredSession;
}

/**
 * The control plane's 0-RTT generator (QFaaS paper section 3.5). For each worker it launches it
 * makes a certificate and a fresh ticket key, and mints the invoker's session by a handshake
 * between two in-memory quiche connections, the server side configured exactly as the worker will
 * be. The worker, started later from the credentials, accepts that session in 0-RTT: even the first
 * request to a cold worker costs one round trip.
 */
export class ZeroRttGenerator {
  readonly #ca: PlatformCA;
  readonly #transport: QuicTransportSettings | undefined;
  readonly #settings: Http3PeerSettings;
  readonly #clientAuth: 'required' | 'none';
  readonly #domain: string;
  readonly #chain: ChainGatewayIdentity | undefined;
  readonly #sessionLifetimeMs: number;
  readonly #validityMs: number;
  #invoker: Promise<{ certificate: IssuedCertificate; config: QuicConfig }> | undefined;
  #chainServerConfig: QuicConfig | undefined;

  constructor(options: ZeroRttGeneratorOptions) {
    this.#ca = options.ca;
    this.#transport = options.transport;
    const maxFieldSectionSize = options.maxFieldSectionSize ?? defaultMaxFieldSectionSize;
    this.#settings = { maxFieldSectionSize, qpackMaxTableCapacity: 0, qpackBlockedStreams: 0 };
    this.#clientAuth = options.clientAuth ?? 'required';
    this.#domain = options.domain ?? 'qfaas.internal';
    this.#chain = options.chainGateway;
    this.#sessionLifetimeMs = options.sessionLifetimeMs ?? zeroRttDefaults.sessionLifetimeMs;
    this.#validityMs = options.certificateValidityMs ?? zeroRttDefaults.certificateValidityMs;
    if (!(this.#sessionLifetimeMs > 0) || this.#sessionLifetimeMs > 7 * 24 * 3600_000) {
      throw new QfaasConfigError('sessionLifetimeMs', 'must be positive and at most 7 days (RFC 8446 section 4.6.1)');
    }
    if (this.#chain !== undefined && this.#chain.ticketKey.length !== ticketKeyLength) {
      throw new QfaasConfigError('chainGateway.ticketKey', `must be ${ticketKeyLength} bytes`);
    }
    // Workers connect to it: 0 ("any free port") is no address, and loadCredentials would refuse it.
    if (this.#chain?.port !== undefined) checkPort(this.#chain.port, 'chainGateway.port', 'connect');
    if (options.invokerCertificate !== undefined) {
      const certificate = options.invokerCertificate;
      this.#invoker = Promise.resolve({ certificate, config: this.#clientConfig(certificate) });
    }
  }

  /** The invoker identity sessions are minted for; the gateway's invoker must use it. */
  async invokerCertificate(): Promise<IssuedCertificate> {
    return (await this.#invokerIdentity()).certificate;
  }

  /** Provisions one worker instance. */
  async provision(request: ProvisionRequest): Promise<Provisioned> {
    const serverName = `${request.instanceId}.${request.functionName}.${this.#domain}`;
    const [workerCertificate, chainCertificate, invoker] = await Promise.all([
      this.#ca.issue({ role: 'worker', name: serverName, hosts: request.hosts ?? [], validityMs: this.#validityMs }),
      this.#chain === undefined
        ? Promise.resolve(undefined)
        : this.#ca.issue({ role: 'chain', name: `${request.instanceId}.${request.functionName}`, validityMs: this.#validityMs }),
      this.#invokerIdentity(),
    ]);
    const issuedAt = Date.now();
    const worker: WorkerCredentials = {
      version: 1,
      functionName: request.functionName,
      instanceId: request.instanceId,
      serverName,
      caPem: this.#ca.certPem,
      certificate: { certPem: workerCertificate.certPem, keyPem: new Secret(workerCertificate.keyPem, 'private key') },
      ticketKey: new Secret(Uint8Array.from(randomBytes(ticketKeyLength)), 'ticket key'),
      clientAuth: this.#clientAuth,
      issuedAt,
    };
    const session: StoredSession = {
      session: new Secret(
        mintSession({ clientConfig: invoker.config, serverConfig: this.#workerConfig(worker), serverName }),
        'session ticket',
      ),
      expiresAt: issuedAt + this.#sessionLifetimeMs,
      settings: { ...this.#settings },
    };
    let chainSession: StoredSession | undefined;
    if (this.#chain !== undefined && chainCertificate !== undefined) {
      chainSession = {
        session: new Secret(
          mintSession({
            clientConfig: this.#clientConfig(chainCertificate),
            serverConfig: this.#chainGatewayConfig(this.#chain),
            serverName: this.#chain.serverName,
          }),
          'session ticket',
        ),
        expiresAt: issuedAt + this.#sessionLifetimeMs,
        settings: { ...this.#settings },
      };
      const chain: ChainCredentials = {
        gatewayServerName: this.#chain.serverName,
        ...(this.#chain.host === undefined ? {} : { gatewayHost: this.#chain.host }),
        ...(this.#chain.port === undefined ? {} : { gatewayPort: this.#chain.port }),
        certificate: { certPem: chainCertificate.certPem, keyPem: new Secret(chainCertificate.keyPem, 'private key') },
        session: chainSession.session,
        sessionExpiresAt: chainSession.expiresAt,
        settings: { ...this.#settings },
      };
      worker.chain = chain;
    }
    return { serverName, worker, session, ...(chainSession === undefined ? {} : { chainSession }) };
  }

  #invokerIdentity(): Promise<{ certificate: IssuedCertificate; config: QuicConfig }> {
    this.#invoker ??= this.#ca
      .issue({ role: 'invoker', name: 'invoker', validityMs: this.#validityMs })
      .then((certificate) => ({ certificate, config: this.#clientConfig(certificate) }));
    return this.#invoker;
  }

  #clientConfig(certificate: IssuedCertificate): QuicConfig {
    return createQuicConfig({
      role: 'client',
      caPem: this.#ca.certPem,
      certificate,
      ...(this.#transport === undefined ? {} : { transport: this.#transport }),
    });
  }

  #workerConfig(worker: WorkerCredentials): QuicConfig {
    return createWorkerQuicConfig(worker, this.#transport === undefined ? {} : { transport: this.#transport });
  }

  #chainGatewayConfig(chain: ChainGatewayIdentity): QuicConfig {
    this.#chainServerConfig ??= createChainGatewayQuicConfig(
      { caPem: this.#ca.certPem, certificate: chain.certificate, ticketKey: chain.ticketKey },
      this.#transport === undefined ? {} : { transport: this.#transport },
    );
    return this.#chainServerConfig;
  }
}
