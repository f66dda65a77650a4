/**
 * The endpoint's UDP socket, in two forms with one behaviour: node:dgram (a call per datagram each
 * way) and the batched native socket (batched-udp.ts: one call per batch each way). The endpoint
 * sees only {@link EndpointSocket}; `QFAAS_UDP` or the endpoint's `io` option chooses.
 */
import dgram from 'node:dgram';
import { QfaasConfigError } from '../../errors.js';
import { BatchedUdpSocket, loadBatchedUdp, type BatchedUdpStats } from './batched-udp.js';
import type { HostPort } from './connection-driver.js';
import { SendBufferPool, type SendSlot, type SendSlotPool } from './send-buffer-pool.js';

/** Which datagram I/O an endpoint uses. */
export type DatagramIo = 'dgram' | 'batched';

export interface EndpointSocketOptions {
  host: string;
  port: number;
  family: 4 | 6;
  receiveBufferSize: number | undefined;
  sendBufferSize: number | undefined;
  /** Largest datagram sent. */
  slotSize: number;
}

export interface EndpointSocketHandlers {
  onDatagram(message: Buffer, from: HostPort): void;
  /** The datagrams received in one call were all given to `onDatagram` (batched only). */
  onBatchEnd(): void;
  /** The socket takes datagrams again after a `send` returned false. */
  onWritable(): void;
}

export interface EndpointSocket {
  readonly io: DatagramIo;
  readonly address: HostPort;
  /** Where datagrams to send are written; a slot goes to {@link send} or back to the pool. */
  readonly pool: SendSlotPool;
  /** Sends (or queues) the datagram; false asks the caller to stop writing until `onWritable`. */
  send(slot: SendSlot, length: number, to: HostPort): boolean;
  /** Whether `send` can address `host` (an IP address literal): false for a zone naming no interface. */
  accepts(host: string): boolean;
  ref(): void;
  unref(): void;
  /** Resolves once every datagram handed over has left (or failed). */
  whenDrained(): Promise<void>;
  close(): Promise<void>;
  /** The native socket's counters (batched only). */
  nativeStats(): BatchedUdpStats | undefined;
}

/**
 * The I/O asked for: the option, else QFAAS_UDP, else batched (which falls back to dgram where the
 * addon cannot load). Batched is the default because it cut Fig. 5d's 1 MiB hop by 28% and a small
 * GET is no slower (docs/performance.md, "Batched datagram I/O").
 */
export function chosenDatagramIo(option: DatagramIo | undefined): DatagramIo {
  const chosen = option ?? process.env.QFAAS_UDP ?? 'batched';
  if (chosen === '') return 'batched';
  if (chosen !== 'dgram' && chosen !== 'batched') {
    throw new QfaasConfigError(option === undefined ? 'QFAAS_UDP' : 'io', `must be 'dgram' or 'batched', not ${JSON.stringify(chosen)}`);
  }
  return chosen;
}

let fallbackNoticed = false;

/** Binds the socket; batched falls back to dgram, with a one-line notice, where the addon cannot load. */
export async function bindEndpointSocket(io: DatagramIo, options: EndpointSocketOptions, handlers: EndpointSocketHandlers): Promise<EndpointSocket> {
  if (io === 'batched') {
    const native = loadBatchedUdp();
    if (!(native instanceof Error)) return BatchedEndpointSocket.bind(native, options, handlers);
    if (!fallbackNoticed) {
      fallbackNoticed = true;
      process.emitWarning(`qfaas: batched UDP I/O unavailable, using node:dgram (${native.message.split('\n')[0]})`, { code: 'QFAAS_UDP_FALLBACK' });
    }
  }
  return DgramEndpointSocket.bind(options, handlers);
}

class DgramEndpointSocket implements EndpointSocket {
  readonly io = 'dgram';
  readonly address: HostPort;
  readonly pool: SendBufferPool;
  readonly #socket: dgram.Socket;

  private constructor(socket: dgram.Socket, pool: SendBufferPool) {
    this.#socket = socket;
    this.pool = pool;
    const address = socket.address();
    this.address = { host: address.address, port: address.port };
  }

  static async bind(options: EndpointSocketOptions, handlers: EndpointSocketHandlers): Promise<DgramEndpointSocket> {
    const socket = dgram.createSocket({ type: options.family === 6 ? 'udp6' : 'udp4', ipv6Only: options.family === 6 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: options.host, port: options.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (options.receiveBufferSize !== undefined) socket.setRecvBufferSize(options.receiveBufferSize);
    if (options.sendBufferSize !== undefined) socket.setSendBufferSize(options.sendBufferSize);
    socket.on('message', (message, remote) => handlers.onDatagram(message, { host: remote.address, port: remote.port }));
    // A send error to one peer (ICMP unreachable surfaced by the kernel) must not kill the socket.
    socket.on('error', () => undefined);
    return new DgramEndpointSocket(socket, new SendBufferPool(options.slotSize));
  }

  send(slot: SendSlot, length: number, to: HostPort): boolean {
    this.#socket.send(slot.buffer, 0, length, to.port, to.host, slot.onSent);
    return true;
  }

  /** node:dgram reads a zone as an interface name and sends to an unknown one without a scope. */
  accepts(): boolean {
    return true;
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  whenDrained(): Promise<void> {
    return this.pool.whenDrained();
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  nativeStats(): undefined {
    return undefined;
  }
}

interface BatchSlot extends SendSlot {
  readonly index: number;
}

const noop = (): void => undefined;

/**
 * The send buffer's slots, handed out in order within a batch: a connection writes a datagram into
 * the next slot and passes it to `send`, which only describes it; the whole batch leaves in one
 * native call at the end of the current task (a microtask), or at once when the slots run out.
 */
class BatchedEndpointSocket implements EndpointSocket, SendSlotPool {
  readonly io = 'batched';
  readonly address: HostPort;
  readonly #socket: BatchedUdpSocket;
  readonly #handlers: EndpointSocketHandlers;
  readonly #slots: BatchSlot[] = [];
  /** Slots taken in this batch. */
  #taken = 0;
  /** Datagrams described in this batch. */
  #described = 0;
  #flushQueued = false;
  #writable = true;
  #drained: Array<() => void> = [];
  #closed = false;

  private constructor(socket: BatchedUdpSocket, handlers: EndpointSocketHandlers, slotSize: number) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.address = { host: socket.host, port: socket.port };
    const stride = socket.slotSize;
    if (slotSize > stride) throw new QfaasConfigError('io', `the batched socket's slots (${stride} bytes) are smaller than ${slotSize}`);
    for (let index = 0; index < socket.sendSlots; index++) {
      this.#slots.push({ index, buffer: socket.sendBuffer.subarray(index * stride, index * stride + slotSize), onSent: noop });
    }
    socket.onDatagram = (message, from) => handlers.onDatagram(message, from);
    socket.onBatchEnd = () => handlers.onBatchEnd();
    socket.onDrain = () => this.#onDrain();
  }

  static bind(native: Exclude<ReturnType<typeof loadBatchedUdp>, Error>, options: EndpointSocketOptions, handlers: EndpointSocketHandlers): BatchedEndpointSocket {
    const socket = new BatchedUdpSocket(native, options.family, {
      host: options.host,
      port: options.port,
      // Measurement switches (QFAAS_UDP_GSO=0, QFAAS_UDP_GRO=0): sendmmsg/recvmmsg without offloads.
      gso: process.env.QFAAS_UDP_GSO !== '0',
      gro: process.env.QFAAS_UDP_GRO !== '0',
      slotSize: options.slotSize,
    });
    try {
      if (options.receiveBufferSize !== undefined) socket.setRecvBufferSize(options.receiveBufferSize);
      if (options.sendBufferSize !== undefined) socket.setSendBufferSize(options.sendBufferSize);
    } catch (error) {
      socket.close();
      throw error;
    }
    return new BatchedEndpointSocket(socket, handlers, options.slotSize);
  }

  get pool(): SendSlotPool {
    return this;
  }

  get allocated(): number {
    return this.#slots.length;
  }

  take(): SendSlot {
    if (this.#taken === this.#slots.length) this.#flush();
    return this.#slots[this.#taken++] as BatchSlot;
  }

  giveBack(slot: SendSlot): void {
    // Slots are taken and returned in order; one returned out of order just stays unused.
    if ((slot as BatchSlot).index === this.#taken - 1) this.#taken--;
  }

  send(slot: SendSlot, length: number, to: HostPort): boolean {
    if (this.#closed) return false;
    const index = (slot as BatchSlot).index;
    if (this.#socket.describe(this.#described, index * this.#socket.slotSize, length, to)) this.#described++;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushTask);
    }
    return this.#writable;
  }

  accepts(host: string): boolean {
    return this.#socket.accepts(host);
  }

  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    this.#flush();
  };

  #flush(): void {
    const count = this.#described;
    this.#taken = 0;
    this.#described = 0;
    if (count === 0 || this.#closed) return;
    if (!this.#socket.sendBatch(count)) this.#writable = false;
  }

  #onDrain(): void {
    this.#writable = true;
    for (const resolve of this.#drained.splice(0)) resolve();
    this.#handlers.onWritable();
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  whenDrained(): Promise<void> {
    this.#flush();
    if (this.#writable || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#socket.close();
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  nativeStats(): BatchedUdpStats {
    return this.#socket.stats();
  }
}
