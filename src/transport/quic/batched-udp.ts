/**
 * Batched UDP on Linux (issue 17): the native addon in native/udp_batch.c owns the socket, sends a
 * whole batch of datagrams in one call (sendmmsg, with UDP GSO where the kernel has it) and hands
 * JavaScript every datagram one recvmmsg returned in one call (one shared buffer and a table of
 * offsets, not a Buffer each). Loaded with node-gyp-build from the package's prebuilds/ or build/.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostPort } from './connection-driver.js';

/** Counters of one native socket (system calls, datagrams, errors), for tests and benchmarks. */
export interface BatchedUdpStats {
  sendCalls: number;
  datagramsSent: number;
  /** sendmmsg messages that carried several datagrams with UDP_SEGMENT. */
  gsoMessages: number;
  /** Datagrams the kernel refused (bad destination, unreachable network); the socket goes on. */
  sendErrors: number;
  lastSendErrno: number;
  /** Datagrams that waited in the native queue for the socket to become writable. */
  queuedDatagrams: number;
  queueLength: number;
  recvCalls: number;
  datagramsReceived: number;
  /** Received runs the kernel coalesced (UDP_GRO), split here. */
  groRuns: number;
  recvErrors: number;
  lastRecvErrno: number;
  truncated: number;
  /** Calls into JavaScript with received datagrams. */
  batches: number;
  gso: boolean;
  gro: boolean;
}

interface NativeSocket {
  /** Bytes per send slot; slots in the send buffer (fewer for larger slots). */
  readonly slotSize: number;
  readonly sendSlots: number;
  readonly recvBuffer: Buffer;
  readonly recvMeta: Uint32Array;
  readonly sendBuffer: Buffer;
  readonly sendMeta: Uint32Array;
  bind(host: string, port: number): number;
  sendBatch(count: number): boolean;
  setRecvBufferSize(size: number): void;
  setSendBufferSize(size: number): void;
  getRecvBufferSize(): number;
  getSendBufferSize(): number;
  ref(): void;
  unref(): void;
  close(): void;
  stats(): BatchedUdpStats;
}

interface NativeModule {
  UdpBatchSocket: new (family: 4 | 6, onBatch: (count: number) => void, onDrain: () => void, options: { gso: boolean; gro: boolean; slotSize: number }) => NativeSocket;
  /** Send slot bytes when none are asked for, and the most (a UDP payload's limit). */
  defaultSlotSize: number;
  maxSlotSize: number;
  /** Table words per datagram: offset, length, port, family (4 or 6), address in 4 words, IPv6 scope ID. */
  metaWords: number;
  /** [family, address in 4 words, scope ID]; undefined for no address, or a zone naming no interface. */
  parseAddress(host: string): [number, number, number, number, number, number] | undefined;
  formatAddress(family: number, w0: number, w1: number, w2: number, w3: number, scope: number): string | undefined;
}

let loaded: NativeModule | Error | undefined;

/** The addon, or why it cannot load (not Linux, no binary built or shipped). Loaded once. */
export function loadBatchedUdp(): NativeModule | Error {
  if (loaded !== undefined) return loaded;
  try {
    if (process.platform !== 'linux') throw new Error(`batched UDP I/O is built for Linux only (this is ${process.platform})`);
    const require = createRequire(import.meta.url);
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => NativeModule;
    loaded = nodeGypBuild(packageRoot());
  } catch (error) {
    loaded = error instanceof Error ? error : new Error(String(error));
  }
  return loaded;
}

/** The directory of this package's package.json (src/… in the repository, dist/… when installed). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the batched UDP loader');
    dir = parent;
  }
}

export interface BatchedUdpSocketOptions {
  host: string;
  port: number;
  /** Use UDP_SEGMENT (GSO) when the kernel has it. @default true */
  gso?: boolean;
  /** Use UDP_GRO when the kernel has it. @default true */
  gro?: boolean;
  /** The largest datagram this socket sends (1200 to 65527). @default 1500 */
  slotSize?: number;
}

/**
 * A bound UDP socket with batched I/O. Datagrams to send are written into `sendBuffer` at
 * `slotOffset(i)` and described with {@link describe}; {@link sendBatch} sends them all in one
 * native call. Received datagrams come to `onDatagrams` as many per call.
 */
export class BatchedUdpSocket {
  readonly #native: NativeSocket;
  readonly #module: NativeModule;
  readonly #sendMeta: Uint32Array;
  readonly #words: number;
  readonly #addressCache = new Map<string, readonly number[]>();
  readonly #ipv6Names = new Map<string, string>();
  readonly port: number;
  readonly host: string;
  readonly family: 4 | 6;
  /** Slots in the send buffer: the most datagrams one batch holds. */
  readonly sendSlots: number;
  readonly slotSize: number;
  /** Called with each received datagram (a view into a buffer reused by the next batch). */
  onDatagram: (message: Buffer, from: HostPort) => void = () => undefined;
  /** Called after the datagrams of one batch were given to `onDatagram`. */
  onBatchEnd: () => void = () => undefined;
  /** Called once everything queued by a {@link sendBatch} that returned false has left. */
  onDrain: () => void = () => undefined;
  #lastKey = -1;
  #lastW0 = -1;
  #lastFrom: HostPort | undefined;

  /** Binds synchronously; throws a system error (`code` 'EADDRINUSE' …) as node:dgram would report it. */
  constructor(native: NativeModule, family: 4 | 6, options: BatchedUdpSocketOptions) {
    this.#module = native;
    this.family = family;
    this.#native = new native.UdpBatchSocket(family, (count) => this.#onBatch(count), () => this.onDrain(), {
      gso: options.gso ?? true,
      gro: options.gro ?? true,
      slotSize: options.slotSize ?? native.defaultSlotSize,
    });
    this.#sendMeta = this.#native.sendMeta;
    this.#words = native.metaWords;
    this.sendSlots = this.#native.sendSlots;
    this.slotSize = this.#native.slotSize;
    try {
      this.port = this.#native.bind(options.host, options.port);
    } catch (error) {
      this.#native.close();
      throw error;
    }
    this.host = options.host;
  }

  get sendBuffer(): Buffer {
    return this.#native.sendBuffer;
  }

  /** Whether datagrams to `host` can be described: an IP address, its zone (if any) an interface here. */
  accepts(host: string): boolean {
    return this.#addressWords(host) !== undefined;
  }

  /**
   * Describes datagram `index` of the next batch: `length` bytes at `offset` in `sendBuffer`, to
   * `to`. Returns false (and describes nothing) when `to.host` is not an IP address, or is an IPv6
   * one whose zone (`fe80::1%eth0`, `fe80::1%3`) names no interface.
   */
  describe(index: number, offset: number, length: number, to: HostPort): boolean {
    const words = this.#addressWords(to.host);
    if (words === undefined) return false;
    const meta = this.#sendMeta;
    const at = index * this.#words;
    meta[at] = offset;
    meta[at + 1] = length;
    meta[at + 2] = to.port;
    meta[at + 3] = words[0] as number;
    meta[at + 4] = words[1] as number;
    meta[at + 5] = words[2] as number;
    meta[at + 6] = words[3] as number;
    meta[at + 7] = words[4] as number;
    meta[at + 8] = words[5] as number;
    return true;
  }

  /** Table words 3..8 of `host` (family, address, scope), parsed once per host text. */
  #addressWords(host: string): readonly number[] | undefined {
    let words = this.#addressCache.get(host);
    if (words === undefined) {
      const parsed = this.#module.parseAddress(host);
      if (parsed === undefined) return undefined;
      if (this.#addressCache.size >= 1024) this.#addressCache.clear();
      this.#addressCache.set(host, (words = parsed));
    }
    return words;
  }

  /** Sends datagrams 0..count-1 in one call. false: some wait for the socket (then onDrain). */
  sendBatch(count: number): boolean {
    return this.#native.sendBatch(count);
  }

  setRecvBufferSize(size: number): void {
    this.#native.setRecvBufferSize(size);
  }

  setSendBufferSize(size: number): void {
    this.#native.setSendBufferSize(size);
  }

  getRecvBufferSize(): number {
    return this.#native.getRecvBufferSize();
  }

  getSendBufferSize(): number {
    return this.#native.getSendBufferSize();
  }

  ref(): void {
    this.#native.ref();
  }

  unref(): void {
    this.#native.unref();
  }

  /** Closes the socket at once (its port is free on return); datagrams still queued are dropped. */
  close(): void {
    this.#native.close();
  }

  stats(): BatchedUdpStats {
    return this.#native.stats();
  }

  #onBatch(count: number): void {
    const native = this.#native;
    const buffer = native.recvBuffer;
    const meta = native.recvMeta;
    const words = this.#words;
    for (let i = 0; i < count; i++) {
      const at = i * words;
      const offset = meta[at] as number;
      const length = meta[at + 1] as number;
      this.onDatagram(buffer.subarray(offset, offset + length), this.#from(meta, at));
    }
    this.onBatchEnd();
  }

  /** The sender of a table entry; the previous one's object when it is the same address. */
  #from(meta: Uint32Array, at: number): HostPort {
    const family = meta[at + 3] as number;
    const port = meta[at + 2] as number;
    const w0 = meta[at + 4] as number;
    const key = family === 4 ? port : -1;
    if (key === this.#lastKey && w0 === this.#lastW0 && this.#lastFrom !== undefined) return this.#lastFrom;
    let host: string;
    if (family === 4) {
      host = `${w0 >>> 24}.${(w0 >>> 16) & 255}.${(w0 >>> 8) & 255}.${w0 & 255}`;
    } else {
      const w1 = meta[at + 5] as number;
      const w2 = meta[at + 6] as number;
      const w3 = meta[at + 7] as number;
      const scope = meta[at + 8] as number;
      // A link-local sender's interface name is looked up once per address, not per datagram (a
      // system call each); an interface renamed meanwhile keeps its old name until the cache clears.
      const name = `${w0},${w1},${w2},${w3},${scope}`;
      let formatted = this.#ipv6Names.get(name);
      if (formatted === undefined) {
        formatted = this.#module.formatAddress(6, w0, w1, w2, w3, scope) ?? '::';
        if (this.#ipv6Names.size >= 1024) this.#ipv6Names.clear();
        this.#ipv6Names.set(name, formatted);
      }
      host = formatted;
    }
    const from = { host, port };
    // Only IPv4 senders are remembered (one word tells them apart); IPv6 goes through the cache.
    this.#lastKey = key;
    this.#lastW0 = w0;
    this.#lastFrom = family === 4 ? from : undefined;
    return from;
  }
}
