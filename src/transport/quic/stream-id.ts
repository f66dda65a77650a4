/**
 * Stream ID arithmetic (RFC 9000 section 2.1): the low bit says who opened the stream
 * (0 client, 1 server), the next bit its direction (0 bidirectional, 1 unidirectional).
 */
export function isBidirectional(streamId: number): boolean {
  return (streamId & 0x2) === 0;
}

export function isLocallyInitiated(streamId: number, role: 'client' | 'server'): boolean {
  return (streamId & 0x1) === (role === 'client' ? 0 : 1);
}

export interface StreamIdAllocator {
  next(bidirectional: boolean): number;
  /** Returns the last ID handed out for that direction, when opening it failed. */
  giveBack(bidirectional: boolean): void;
}

export function streamIdAllocator(role: 'client' | 'server'): StreamIdAllocator {
  const initiator = role === 'client' ? 0 : 1;
  let nextBidi = initiator;
  let nextUni = initiator | 0x2;
  return {
    next(bidirectional) {
      if (bidirectional) {
        const id = nextBidi;
        nextBidi += 4;
        return id;
      }
      const id = nextUni;
      nextUni += 4;
      return id;
    },
    giveBack(bidirectional) {
      if (bidirectional) nextBidi -= 4;
      else nextUni -= 4;
    },
  };
}
