/**
 * Reusable datagram buffers for the send path. A buffer goes back to the pool when the socket's
 * send callback fires, so steady-state sending allocates no buffer (and no closure) per packet.
 */
export interface SendSlot {
  readonly buffer: Buffer;
  /** Preallocated send callback; returns the slot to its pool. */
  readonly onSent: (error: Error | null) => void;
}

/** Where a connection takes the buffer for its next datagram (the endpoint's socket owns it). */
export interface SendSlotPool {
  take(): SendSlot;
  /** Returns a slot that was taken but not handed to the socket. */
  giveBack(slot: SendSlot): void;
  /** Buffers ever allocated: stays flat once traffic reaches a steady state. */
  readonly allocated: number;
}

export class SendBufferPool implements SendSlotPool {
  readonly slotSize: number;
  readonly #free: SendSlot[] = [];
  #allocated = 0;
  #sendErrors = 0;
  #inFlight = 0;
  #drained: Array<() => void> = [];

  constructor(slotSize: number) {
    this.slotSize = slotSize;
  }

  take(): SendSlot {
    this.#inFlight++;
    const slot = this.#free.pop();
    if (slot !== undefined) return slot;
    this.#allocated++;
    const buffer = Buffer.allocUnsafe(this.slotSize);
    const created: SendSlot = {
      buffer,
      onSent: (error) => {
        if (error !== null) this.#sendErrors++;
        this.#free.push(created);
        this.#inFlight--;
        if (this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
      },
    };
    return created;
  }

  /** Returns a slot that was taken but not handed to the socket. */
  giveBack(slot: SendSlot): void {
    this.#free.push(slot);
    this.#inFlight--;
    if (this.#inFlight === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Resolves once every buffer handed to the socket has been sent (or failed). */
  whenDrained(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Buffers ever allocated: stays flat once traffic reaches a steady state. */
  get allocated(): number {
    return this.#allocated;
  }

  get sendErrors(): number {
    return this.#sendErrors;
  }
}
