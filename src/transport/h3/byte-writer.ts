/** A growable byte buffer for building frames and field sections without intermediate arrays. */
export class ByteWriter {
  #buffer: Uint8Array;
  #length = 0;

  constructor(initialCapacity = 256) {
    this.#buffer = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Makes room for `extra` more bytes and returns the buffer; write them from `length` on. */
  reserve(extra: number): Uint8Array {
    const needed = this.#length + extra;
    if (needed > this.#buffer.length) {
      let capacity = this.#buffer.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    return this.#buffer;
  }

  /** Marks `count` reserved bytes as written. */
  commit(count: number): void {
    this.#length += count;
  }

  /** Forgets what was written, keeping the buffer for reuse. */
  reset(): void {
    this.#length = 0;
  }

  byte(value: number): void {
    this.reserve(1)[this.#length++] = value;
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length).set(value, this.#length);
    this.#length += value.length;
  }

  /** Writes a latin1 string byte by byte (HTTP field names and values are byte strings). */
  latin1(value: string): void {
    const buffer = this.reserve(value.length);
    const offset = this.#length;
    for (let i = 0; i < value.length; i++) buffer[offset + i] = value.charCodeAt(i) & 0xff;
    this.#length += value.length;
  }

  /** The bytes written, as a view (valid until the next write). */
  view(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** The bytes written, as an independent copy. */
  toBytes(): Uint8Array {
    return this.#buffer.slice(0, this.#length);
  }
}
