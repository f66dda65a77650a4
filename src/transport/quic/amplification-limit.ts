/**
 * RFC 9000 section 8.1: until a peer's address is validated, a server sends it at most three times
 * the bytes it received from it, counting every datagram attributed to the connection, also those
 * whose packets were discarded. Enforced where datagrams leave, on the bytes actually sent: quiche
 * keeps its own count, but its retransmissions (with their padding) were measured to take a silent
 * peer to 6x.
 */
export const amplificationFactor = 3;

export class AmplificationLimit {
  #received = 0;
  #sent = 0;

  constructor(firstDatagramLength: number) {
    this.#received = firstDatagramLength;
  }

  /** Bytes of a datagram that arrived from the peer's address. */
  received(length: number): void {
    this.#received += length;
  }

  /** True, and counted, when a datagram of `length` bytes may leave now; false means drop it. */
  trySend(length: number): boolean {
    if (this.#sent + length > amplificationFactor * this.#received) return false;
    this.#sent += length;
    return true;
  }

  get bytesReceived(): number {
    return this.#received;
  }

  get bytesSent(): number {
    return this.#sent;
  }
}
