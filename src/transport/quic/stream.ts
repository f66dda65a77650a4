import { QuicStreamStateError } from '../../errors.js';
import type { QuicRole } from './connection-driver.js';
import { isBidirectional, isLocallyInitiated } from './stream-id.js';

/** What a stream needs from its connection; kept narrow so streams can be tested alone. */
export interface StreamHost {
  readonly role: QuicRole;
  /** Sends up to `data.length` bytes; returns how many were accepted. Throws typed stream errors. */
  send(streamId: number, data: Uint8Array, fin: boolean): number;
  /** Reads into `out`; null when nothing is buffered. Throws typed stream errors. */
  recv(streamId: number, out: Uint8Array): { length: number; fin: boolean } | null;
  watchWritable(streamId: number): void;
  /** Bytes quiche would accept on the stream now (flow control and congestion window). */
  capacity(streamId: number): number;
  reset(streamId: number, errorCode: number): void;
  stopSending(streamId: number, errorCode: number): void;
  isEarlyData(streamId: number): boolean;
  /** Called once both directions are finished. */
  release(streamId: number): void;
  /** Asks the connection to send what the stream produced (coalesced per event-loop turn). */
  scheduleFlush(): void;
  readonly scratch: Uint8Array;
}

interface PendingWrite {
  data: Uint8Array;
  offset: number;
  fin: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Bytes read ahead from quiche into this stream's buffer before the consumer must catch up. */
const readAheadBytes = 256 * 1024;

/**
 * One QUIC stream. Reading pulls from quiche only as fast as the consumer reads, so an unread
 * stream stops granting flow-control credit (backpressure); `write()` resolves once quiche has
 * taken every byte, so awaiting it bounds what is buffered in memory.
 */
export class QuicStream {
  readonly id: number;
  readonly bidirectional: boolean;
  readonly locallyInitiated: boolean;

  readonly #host: StreamHost;
  readonly #chunks: Uint8Array[] = [];
  #bufferedBytes = 0;
  #finReceived = false;
  #readDone: boolean;
  #readError: Error | undefined;
  #readWaiter: { resolve: (chunk: Uint8Array | null) => void; reject: (error: Error) => void } | undefined;

  readonly #writes: PendingWrite[] = [];
  #writeDone: boolean;
  #writeError: Error | undefined;
  #finQueued = false;

  #earlyDataWhenReleased: boolean | undefined;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(host: StreamHost, id: number) {
    this.#host = host;
    this.id = id;
    this.bidirectional = isBidirectional(id);
    this.locallyInitiated = isLocallyInitiated(id, host.role);
    // A unidirectional stream has only the opener's sending side.
    this.#readDone = !this.bidirectional && this.locallyInitiated;
    this.#writeDone = !this.bidirectional && !this.locallyInitiated;
  }

  /**
   * True if this stream's data travelled in 0-RTT: on a server, data arrived before the handshake
   * completed; on a client, data was sent in early data and the server accepted it.
   */
  get earlyData(): boolean {
    return this.#earlyDataWhenReleased ?? this.#host.isEarlyData(this.id);
  }

  /**
   * Bytes that a write would hand to quiche at once; 0 means the next write waits for the peer's
   * flow-control credit (or for the handshake, before 0-RTT or 1-RTT keys exist).
   */
  get writableCapacity(): number {
    if (this.#writeDone || this.#writeError !== undefined) return 0;
    try {
      return this.#host.capacity(this.id);
    } catch {
      return 0;
    }
  }

  /** Bytes read from the network and not yet consumed. */
  get readableLength(): number {
    return this.#bufferedBytes;
  }

  // ---- Reading ------------------------------------------------------------------------------

  /** Next chunk, or null at the end of the stream. Rejects if the peer reset the stream. */
  read(): Promise<Uint8Array | null> {
    if (this.#chunks.length > 0) return Promise.resolve(this.#takeChunk());
    if (this.#readError !== undefined) return Promise.reject(this.#readError);
    if (this.#finReceived || this.#readDone) {
      this.#finishRead();
      return Promise.resolve(null);
    }
    if (this.#readWaiter !== undefined) {
      return Promise.reject(new QuicStreamStateError(this.id, 'only one read may be pending at a time'));
    }
    return new Promise((resolve, reject) => {
      this.#readWaiter = { resolve, reject };
    });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await this.read();
      if (chunk === null) return;
      yield chunk;
    }
  }

  /** Reads the whole stream into one buffer (for small bodies and tests). */
  async readAll(limit = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of this) {
      total += chunk.length;
      if (total > limit) {
        this.stopSending(0);
        throw new QuicStreamStateError(this.id, `body exceeds ${limit} bytes`);
      }
      parts.push(chunk);
    }
    return Buffer.concat(parts, total);
  }

  /** A web ReadableStream over this stream; cancelling it sends STOP_SENDING with `cancelCode`. */
  readable(cancelCode = 0): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.read();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        },
        cancel: () => this.stopSending(cancelCode),
      },
      { highWaterMark: 0 },
    );
    return this.#readable;
  }

  /** Asks the peer to stop sending (STOP_SENDING) and drops what is buffered. */
  stopSending(errorCode = 0): void {
    if (this.#readDone) return;
    this.#host.stopSending(this.id, errorCode);
    // As for reset(): the frame must leave now, not with whatever the connection sends next.
    this.#host.scheduleFlush();
    this.#chunks.length = 0;
    this.#bufferedBytes = 0;
    this.#failRead(new QuicStreamStateError(this.id, 'reading was stopped locally'));
  }

  /** @internal quiche has data (or a fin, or a reset) for this stream. */
  onReadable(): void {
    if (this.#readDone || this.#finReceived || this.#readError !== undefined) return;
    const scratch = this.#host.scratch;
    try {
      while (this.#bufferedBytes < readAheadBytes) {
        const result = this.#host.recv(this.id, scratch);
        if (result === null) break;
        if (result.length > 0) {
          this.#chunks.push(scratch.slice(0, result.length));
          this.#bufferedBytes += result.length;
        }
        if (result.fin) {
          this.#finReceived = true;
          break;
        }
      }
    } catch (error) {
      this.#failRead(error as Error);
      return;
    }
    // Reading returns flow-control credit to the peer: let the connection send MAX_STREAM_DATA.
    this.#host.scheduleFlush();
    this.#wakeReader();
  }

  #takeChunk(): Uint8Array {
    const chunk = this.#chunks.shift() as Uint8Array;
    const before = this.#bufferedBytes;
    this.#bufferedBytes -= chunk.length;
    // Crossing back under the read-ahead mark: pull what quiche still holds.
    if (before >= readAheadBytes && this.#bufferedBytes < readAheadBytes) this.onReadable();
    return chunk;
  }

  #wakeReader(): void {
    const waiter = this.#readWaiter;
    if (waiter === undefined) return;
    if (this.#chunks.length > 0) {
      this.#readWaiter = undefined;
      waiter.resolve(this.#takeChunk());
    } else if (this.#finReceived) {
      this.#readWaiter = undefined;
      this.#finishRead();
      waiter.resolve(null);
    }
  }

  #finishRead(): void {
    if (this.#readDone) return;
    this.#readDone = true;
    this.#maybeRelease();
  }

  #failRead(error: Error): void {
    if (this.#readError !== undefined) return;
    this.#readError = error;
    const waiter = this.#readWaiter;
    this.#readWaiter = undefined;
    waiter?.reject(error);
    this.#readDone = true;
    this.#maybeRelease();
  }

  // ---- Writing ------------------------------------------------------------------------------

  /** Queues `data`; resolves once quiche accepted all of it (flow control permitting). */
  write(data: Uint8Array): Promise<void> {
    return this.#enqueue(data, false);
  }

  /** Writes `data` (if any) and the end of the stream (FIN). */
  end(data?: Uint8Array): Promise<void> {
    return this.#enqueue(data ?? new Uint8Array(0), true);
  }

  /** A web WritableStream over this stream; aborting it resets the stream with `abortCode`. */
  writable(abortCode = 0): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>(
      {
        write: (chunk) => this.write(chunk),
        close: () => this.end(),
        abort: () => this.reset(abortCode),
      },
      { highWaterMark: 1 },
    );
    return this.#writable;
  }

  /** Abandons the sending side (RESET_STREAM); queued writes are rejected. */
  reset(errorCode = 0): void {
    if (this.#writeDone) return;
    this.#host.reset(this.id, errorCode);
    this.#host.scheduleFlush();
    this.#failWrite(new QuicStreamStateError(this.id, 'the stream was reset locally'));
  }

  /** @internal flow control opened up, or the stream failed. */
  onWritable(): void {
    this.#drainWrites();
  }

  /** @internal the connection closed: every pending operation fails with its reason. */
  onConnectionClosed(error: Error): void {
    // A stream whose FIN already arrived keeps its buffered data readable.
    if (!this.#finReceived) this.#failRead(error);
    this.#failWrite(error);
  }

  #enqueue(data: Uint8Array, fin: boolean): Promise<void> {
    if (this.#writeError !== undefined) return Promise.reject(this.#writeError);
    if (this.#writeDone || this.#finQueued) {
      return Promise.reject(new QuicStreamStateError(this.id, 'the sending side is already finished'));
    }
    if (fin) this.#finQueued = true;
    return new Promise<void>((resolve, reject) => {
      this.#writes.push({ data, offset: 0, fin, resolve, reject });
      if (this.#writes.length === 1) this.#drainWrites();
    });
  }

  #drainWrites(): void {
    while (this.#writes.length > 0) {
      const pending = this.#writes[0] as PendingWrite;
      const rest = pending.offset === 0 ? pending.data : pending.data.subarray(pending.offset);
      let accepted: number;
      try {
        accepted = this.#host.send(this.id, rest, pending.fin);
      } catch (error) {
        this.#failWrite(error as Error);
        return;
      }
      this.#host.scheduleFlush();
      pending.offset += accepted;
      // quiche applies the FIN only together with the last byte, so a complete write is a sent FIN.
      if (pending.offset < pending.data.length) {
        this.#host.watchWritable(this.id);
        return;
      }
      this.#writes.shift();
      if (pending.fin) {
        this.#writeDone = true;
        this.#maybeRelease();
      }
      pending.resolve();
    }
  }

  #failWrite(error: Error): void {
    if (this.#writeError === undefined && !this.#writeDone) this.#writeError = error;
    this.#writeDone = true;
    for (const pending of this.#writes.splice(0)) pending.reject(error);
    this.#maybeRelease();
  }

  #maybeRelease(): void {
    if (!this.#readDone || !this.#writeDone || this.#earlyDataWhenReleased !== undefined) return;
    this.#earlyDataWhenReleased = this.#host.isEarlyData(this.id);
    this.#host.release(this.id);
  }
}
