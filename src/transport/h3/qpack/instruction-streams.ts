import { connectionError } from '../protocol-errors.js';
import { readPrefixedInt } from './prefixed-int.js';

/**
 * Checks the peer's QPACK encoder and decoder streams (RFC 9204 section 4.3 and 4.4) for a side
 * that advertises a dynamic table capacity of 0 and never references the dynamic table: the only
 * instructions that can be valid are "Set Dynamic Table Capacity 0" (encoder stream) and "Stream
 * Cancellation" (decoder stream). Anything else is a connection error. Bytes may arrive in any
 * fragmentation.
 */
abstract class InstructionChecker {
  #pending = new Uint8Array(0);

  push(chunk: Uint8Array): void {
    const data = new Uint8Array(this.#pending.length + chunk.length);
    data.set(this.#pending, 0);
    data.set(chunk, this.#pending.length);
    let offset = 0;
    while (offset < data.length) {
      const next = this.instruction(data, offset);
      if (next === undefined) break;
      offset = next;
    }
    this.#pending = data.slice(offset);
    // A legitimate instruction is a few bytes; refuse to buffer an endless one.
    if (this.#pending.length > 64) this.fail('instruction too long');
  }

  /** Parses one instruction at `offset`; returns the offset after it, or undefined for "need more". */
  protected abstract instruction(data: Uint8Array, offset: number): number | undefined;
  protected abstract fail(detail: string): never;

  protected integer(data: Uint8Array, offset: number, prefixBits: number): { value: number; next: number } | undefined {
    const result = readPrefixedInt(data, offset, prefixBits);
    if (result === 'overflow') this.fail('integer too large');
    return result;
  }
}

export class QpackEncoderStreamChecker extends InstructionChecker {
  protected instruction(data: Uint8Array, offset: number): number | undefined {
    const first = data[offset] as number;
    if ((first & 0xe0) === 0x20) {
      const capacity = this.integer(data, offset, 5);
      if (capacity === undefined) return undefined;
      if (capacity.value > 0) this.fail(`dynamic table capacity ${capacity.value} exceeds the advertised 0`);
      return capacity.next;
    }
    this.fail('insertion into a dynamic table of capacity 0');
  }

  protected fail(detail: string): never {
    throw connectionError('QPACK_ENCODER_STREAM_ERROR', detail);
  }
}

export class QpackDecoderStreamChecker extends InstructionChecker {
  protected instruction(data: Uint8Array, offset: number): number | undefined {
    const first = data[offset] as number;
    if ((first & 0xc0) === 0x40) {
      const stream = this.integer(data, offset, 6);
      return stream?.next;
    }
    if (first & 0x80) this.fail('section acknowledgment, but no field section referenced the dynamic table');
    this.fail('insert count increment, but nothing was inserted');
  }

  protected fail(detail: string): never {
    throw connectionError('QPACK_DECODER_STREAM_ERROR', detail);
  }
}
