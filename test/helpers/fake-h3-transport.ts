/**
 * An in-memory transport pair for the HTTP/3 layer: no QUIC, no sockets. Every write is delivered
 * to the peer one byte at a time (unless `chunked`), so parsers see every possible fragmentation.
 * Resets, stop-sending and connection closes surface as the same typed errors the QUIC layer uses.
 */
import {
  QuicConnectionClosedError,
  QuicStreamResetError,
  QuicStreamStateError,
  QuicStreamStoppedError,
  type Field,
  type H3Stream,
  type H3Transport,
  type HandshakeInfo,
} from '../../src/transport/index.js';

type Waiter = { resolve: (chunk: Uint8Array | null) => void; reject: (error: Error) => void };

class FakeStream implements H3Stream {
  readonly id: number;
  readonly bidirectional: boolean;
  earlyData = false;
  peer: FakeStream | undefined;
  readonly #connection: FakeTransport;
  readonly #incoming: Uint8Array[] = [];
  #ended = false;
  #readError: Error | undefined;
  #waiter: Waiter | undefined;
  #writeError: Error | undefined;
  #finished = false;
  #announced = false;
  /** Codes this side received, for assertions. */
  resetByPeer: number | undefined;
  stoppedByPeer: number | undefined;

  constructor(connection: FakeTransport, id: number) {
    this.#connection = connection;
    this.id = id;
    this.bidirectional = (id & 0x2) === 0;
  }

  read(): Promise<Uint8Array | null> {
    const chunk = this.#incoming.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    if (this.#readError !== undefined) return Promise.reject(this.#readError);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  write(data: Uint8Array): Promise<void> {
    return this.#send(data, false);
  }

  end(data?: Uint8Array): Promise<void> {
    return this.#send(data ?? new Uint8Array(0), true);
  }

  /** Like QUIC: a reset after FIN, or a second reset, changes nothing. */
  reset(errorCode: number): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#writeError ??= new QuicStreamStateError(this.id, 'reset locally');
    this.peer?.deliverReset(errorCode);
  }

  stopSending(errorCode: number): void {
    if (this.#readError !== undefined || (this.#ended && this.#incoming.length === 0)) return;
    this.#incoming.length = 0;
    this.#readError ??= new QuicStreamStateError(this.id, 'stopped locally');
    this.#wake();
    this.peer?.deliverStop(errorCode);
  }

  #send(data: Uint8Array, fin: boolean): Promise<void> {
    if (this.#writeError !== undefined) return Promise.reject(this.#writeError);
    if (this.#finished) return Promise.reject(new QuicStreamStateError(this.id, 'already finished'));
    const closed = this.#connection.closeError;
    if (closed !== undefined) return Promise.reject(closed);
    if (fin) this.#finished = true;
    this.peer?.deliver(data, fin, this.#connection.chunked);
    return Promise.resolve();
  }

  deliver(data: Uint8Array, fin: boolean, chunked: boolean): void {
    if (this.#readError === undefined) {
      if (chunked) {
        if (data.length > 0) this.#incoming.push(Uint8Array.from(data));
      } else {
        for (const byte of data) this.#incoming.push(Uint8Array.of(byte));
      }
      if (fin) this.#ended = true;
    }
    // As in QUIC, the receiver learns of a stream when its first bytes (or FIN) arrive.
    if (!this.#announced) {
      this.#announced = true;
      this.#connection.accept(this);
    }
    this.#wake();
  }

  /** The opener's own half is never announced to its own side. */
  markLocal(): void {
    this.#announced = true;
  }

  deliverReset(errorCode: number): void {
    this.resetByPeer = errorCode;
    if (this.#readError === undefined && !(this.#ended && this.#incoming.length === 0)) {
      this.#incoming.length = 0;
      this.#readError = new QuicStreamResetError(this.id, errorCode);
    }
    this.#wake();
  }

  deliverStop(errorCode: number): void {
    this.stoppedByPeer = errorCode;
    this.#writeError ??= new QuicStreamStoppedError(this.id, errorCode);
  }

  /** The connection closed: like QUIC, a stream whose FIN already arrived stays readable. */
  fail(error: Error): void {
    if (!this.#ended) this.#readError ??= error;
    this.#writeError ??= error;
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    const chunk = this.#incoming.shift();
    if (chunk !== undefined) {
      this.#waiter = undefined;
      waiter.resolve(chunk);
    } else if (this.#readError !== undefined) {
      this.#waiter = undefined;
      waiter.reject(this.#readError);
    } else if (this.#ended) {
      this.#waiter = undefined;
      waiter.resolve(null);
    }
  }
}

export class FakeTransport implements H3Transport {
  readonly role: 'client' | 'server';
  peer: FakeTransport | undefined;
  chunked: boolean;
  closeError: Error | undefined;
  /** The application close code this side received from its peer, if any. */
  closeCodeReceived: number | undefined;
  readonly streams: FakeStream[] = [];
  readonly handshake: Promise<HandshakeInfo>;
  handshakeCompleted = true;
  handshakeInfo: HandshakeInfo | undefined;
  earlyData = false;
  readonly closed: Promise<Error>;
  #resolveClosed!: (error: Error) => void;
  #handler: ((stream: H3Stream) => void) | undefined;
  readonly #pending: H3Stream[] = [];
  #nextBidi: number;
  #nextUni: number;

  constructor(role: 'client' | 'server', options: { chunked?: boolean; earlyDataAccepted?: boolean } = {}) {
    this.role = role;
    this.chunked = options.chunked ?? false;
    this.#nextBidi = role === 'client' ? 0 : 1;
    this.#nextUni = role === 'client' ? 2 : 3;
    this.earlyData = options.earlyDataAccepted ?? false;
    // In memory there is no handshake to time.
    this.handshakeInfo = { earlyDataAccepted: this.earlyData, resumed: this.earlyData, handshakeMs: 0 };
    this.handshake = Promise.resolve(this.handshakeInfo);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  openBidirectionalStream(): Promise<H3Stream> {
    return Promise.resolve(this.#open(true));
  }

  openUnidirectionalStream(): Promise<H3Stream> {
    return Promise.resolve(this.#open(false));
  }

  /** Opens a stream without the HTTP/3 layer, for tests that write raw bytes. */
  openRaw(bidirectional: boolean): FakeStream {
    return this.#open(bidirectional);
  }

  peerCertificateChain(): Uint8Array[] | undefined {
    return undefined;
  }

  setStreamHandler(handler: (stream: H3Stream) => void): void {
    this.#handler = handler;
    for (const stream of this.#pending.splice(0)) handler(stream);
  }

  close(errorCode: number, reason: string): void {
    if (this.closeError !== undefined) return;
    this.closeError = new QuicConnectionClosedError('local', 'application', errorCode, reason);
    this.#shutDown(this.closeError);
    this.peer?.closedByPeer(errorCode, reason);
  }

  closedByPeer(errorCode: number, reason: string): void {
    if (this.closeError !== undefined) return;
    this.closeCodeReceived = errorCode;
    this.closeError = new QuicConnectionClosedError('peer', 'application', errorCode, reason);
    this.#shutDown(this.closeError);
  }

  #shutDown(error: Error): void {
    for (const stream of this.streams) stream.fail(error);
    this.#resolveClosed(error);
  }

  #open(bidirectional: boolean): FakeStream {
    if (this.closeError !== undefined) throw this.closeError;
    const id = bidirectional ? this.#nextBidi : this.#nextUni;
    if (bidirectional) this.#nextBidi += 4;
    else this.#nextUni += 4;
    const local = new FakeStream(this, id);
    local.earlyData = this.earlyData;
    const peer = this.peer as FakeTransport;
    const remote = new FakeStream(peer, id);
    remote.earlyData = this.earlyData;
    local.peer = remote;
    remote.peer = local;
    local.markLocal();
    this.streams.push(local);
    peer.streams.push(remote);
    return local;
  }

  accept(stream: FakeStream): void {
    if (this.#handler === undefined) this.#pending.push(stream);
    else this.#handler(stream);
  }
}

export function fakeTransportPair(options: { chunked?: boolean; earlyDataAccepted?: boolean } = {}): {
  client: FakeTransport;
  server: FakeTransport;
} {
  const client = new FakeTransport('client', options);
  const server = new FakeTransport('server', options);
  client.peer = server;
  server.peer = client;
  return { client, server };
}

export type { FakeStream };

/** The request header section of a plain `GET /`. */
export const getFields: Field[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':authority', 'fn.qfaas.internal'],
  [':path', '/'],
];

/** Lets the fake transport's queued deliveries and their promise chains run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}
