import { createHash } from 'node:crypto';
import { ReplayGuard, type ReplayGuardOptions } from './server-guard.js';
import { MemoryStrikeRegister } from './strike-register.js';

/** In-memory registers by ticket-key fingerprint, with the number of live servers using each. */
const registers = new Map<string, { register: MemoryStrikeRegister; users: number }>();

export interface GuardForTicketKey {
  guard: ReplayGuard | undefined;
  /** Call when the server closes: the last server of a ticket key drops its register. */
  release(): void;
}

/**
 * The replay guard of a server built from a ticket key. A flight replayed to any server that
 * holds the same ticket key is accepted by QUIC, so servers of one key must see one strike
 * register: when the options name none, every server of this process with that key shares one
 * in-memory register (two servers started from one bundle in one process cannot be replayed
 * against each other). Servers of one key in different processes need a shared register
 * (`RedisStrikeRegister`): this process cannot see them.
 */
export function guardForTicketKey(option: ReplayGuard | ReplayGuardOptions | false | undefined, ticketKey: Uint8Array): GuardForTicketKey {
  if (option === false) return { guard: undefined, release: () => undefined };
  if (option instanceof ReplayGuard) return { guard: option, release: () => undefined };
  if (option?.strikeRegister !== undefined) return { guard: new ReplayGuard(option), release: () => undefined };
  // A fingerprint, not the key: the map outlives nothing but must not hold a secret in the clear.
  const fingerprint = createHash('sha256').update('qfaas strike register').update(ticketKey).digest('base64url');
  let entry = registers.get(fingerprint);
  if (entry === undefined) {
    entry = { register: new MemoryStrikeRegister(option?.now === undefined ? {} : { now: option.now }), users: 0 };
    registers.set(fingerprint, entry);
  }
  entry.users++;
  const shared = entry;
  let released = false;
  return {
    guard: new ReplayGuard({ ...option, strikeRegister: shared.register }),
    release() {
      if (released) return;
      released = true;
      if (--shared.users === 0 && registers.get(fingerprint) === shared) registers.delete(fingerprint);
    },
  };
}
