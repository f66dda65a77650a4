import type { HandshakeInfo, QuicConnection } from '../quic/connection.js';
import type { QuicStream } from '../quic/stream.js';

/** The stream operations HTTP/3 needs; a `QuicStream` provides them, and so does a test double. */
export interface H3Stream {
  readonly id: number;
  readonly bidirectional: boolean;
  /** Server: the data arrived before the handshake completed. Client: it went out in accepted 0-RTT. */
  readonly earlyData: boolean;
  read(): Promise<Uint8Array | null>;
  write(data: Uint8Array): Promise<void>;
  end(data?: Uint8Array): Promise<void>;
  reset(errorCode: number): void;
  stopSending(errorCode: number): void;
}

/** The connection operations HTTP/3 needs. */
export interface H3Transport {
  readonly role: 'client' | 'server';
  openBidirectionalStream(): Promise<H3Stream>;
  openUnidirectionalStream(): Promise<H3Stream>;
  /** Streams the peer opens, including ones that arrived before the handler was set. */
  setStreamHandler(handler: (stream: H3Stream) => void): void;
  /** CONNECTION_CLOSE with an application (HTTP/3) error code. */
  close(errorCode: number, reason: string): void;
  /** Resolves with the reason once the connection is closed. */
  readonly closed: Promise<Error>;
  readonly handshake: Promise<HandshakeInfo>;
  readonly handshakeCompleted: boolean;
  /** Set once the handshake completed. */
  readonly handshakeInfo: HandshakeInfo | undefined;
  /** The peer's certificate chain, DER, leaf first (after the handshake). */
  peerCertificateChain(): Uint8Array[] | undefined;
}

/** Adapts a QUIC connection for HTTP/3. */
export function h3TransportFor(connection: QuicConnection): H3Transport {
  return {
    role: connection.role,
    openBidirectionalStream: () => connection.openBidirectionalStream(),
    openUnidirectionalStream: () => connection.openUnidirectionalStream(),
    setStreamHandler(handler) {
      connection.onStream = (stream: QuicStream) => handler(stream);
    },
    close(errorCode, reason) {
      void connection.close({ kind: 'application', code: errorCode, reason });
    },
    closed: connection.closed,
    handshake: connection.handshake,
    get handshakeCompleted() {
      return connection.handshakeCompleted;
    },
    get handshakeInfo() {
      return connection.handshakeInfo;
    },
    peerCertificateChain: () => connection.peerCertificateChain(),
  };
}
