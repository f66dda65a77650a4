import { X509Certificate } from 'node:crypto';
import type { HandshakeInfo } from '../quic/connection.js';
import type { H3Transport } from './transport.js';

/** Who the peer's certificate says it is (mutual TLS): its subject's CN and OU. */
export interface PeerIdentity {
  commonName?: string;
  organizationalUnit?: string;
}

/**
 * What a server connection knows about itself that its requests may ask: handshake state and the
 * client certificate's identity, parsed once per connection and only when asked (parsing a
 * certificate is not cheap).
 */
export class ConnectionFacts {
  readonly #transport: H3Transport;
  #identity: PeerIdentity | undefined;

  constructor(transport: H3Transport) {
    this.#transport = transport;
  }

  get handshake(): Promise<HandshakeInfo> {
    return this.#transport.handshake;
  }

  get handshakeInfo(): HandshakeInfo | undefined {
    return this.#transport.handshakeInfo;
  }

  peerCertificateChain(): Uint8Array[] | undefined {
    return this.#transport.peerCertificateChain();
  }

  /** Empty without a client certificate (or before the handshake delivered one). */
  peerIdentity(): PeerIdentity {
    if (this.#identity !== undefined) return this.#identity;
    const der = this.#transport.peerCertificateChain()?.[0];
    if (der === undefined) return {};
    const subject = new X509Certificate(der).subject;
    const commonName = /^CN=(.*)$/m.exec(subject)?.[1];
    const organizationalUnit = /^OU=(.*)$/m.exec(subject)?.[1];
    this.#identity = {
      ...(commonName === undefined ? {} : { commonName }),
      ...(organizationalUnit === undefined ? {} : { organizationalUnit }),
    };
    return this.#identity;
  }
}
