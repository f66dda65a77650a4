import { TicketStoreError } from '../errors.js';
import { deserializePeerSettings, isSerializedPeerSettings, serializedPeerSettingsShape, serializePeerSettings, type Http3PeerSettings } from '../transport/h3/settings.js';
import { CredentialsError } from '../errors.js';
import { Secret } from './secret.js';
import { zeroRttDefaults } from './defaults.js';

/**
 * A session for one server name: the TLS session ticket (a secret: it lets its holder resume as the
 * client that minted it), when it stops being usable, and the server's HTTP/3 SETTINGS that 0-RTT
 * must respect (RFC 9114 section 7.2.4.2).
 */
export interface StoredSession {
  session: Secret<Uint8Array>;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  settings?: Http3PeerSettings;
}

/**
 * Where the gateway keeps sessions, keyed by server name. Methods may be synchronous or return
 * promises. A newer session from a server replaces the stored one (`set`); an expired or rejected
 * one is removed (`delete`).
 */
export interface TicketStore {
  get(serverName: string): StoredSession | undefined | Promise<StoredSession | undefined>;
  set(serverName: string, session: StoredSession): void | Promise<void>;
  delete(serverName: string): void | Promise<void>;
}

/** Options of `FailSafeTicketStore`: how long to wait for the store, and whom to tell when it fails. */
export interface FailSafeTicketStoreOptions {
  /** Longest wait for the store before carrying on without it. @default 250 */
  timeoutMs?: number;
  /** Told about every failure (for metrics); never given session bytes. @default none */
  onError?: (error: TicketStoreError) => void;
  /** @default `Date.now` */
  now?: () => number;
}

/**
 * Wraps a store so that it can never fail a request: a store that throws, rejects or is slower
 * than `timeoutMs` counts as "no session" (the request goes out over 1-RTT) and is reported to
 * `onError`. Expired sessions are deleted instead of returned.
 */
export class FailSafeTicketStore {
  readonly #store: TicketStore;
  readonly #timeoutMs: number;
  readonly #onError: ((error: TicketStoreError) => void) | undefined;
  readonly #now: () => number;
  #failures = 0;

  constructor(store: TicketStore, options: FailSafeTicketStoreOptions = {}) {
    this.#store = store;
    this.#timeoutMs = options.timeoutMs ?? zeroRttDefaults.ticketStoreTimeoutMs;
    this.#onError = options.onError;
    this.#now = options.now ?? Date.now;
  }

  /** Failures so far (timeouts, errors). */
  get failures(): number {
    return this.#failures;
  }

  async get(serverName: string): Promise<StoredSession | undefined> {
    const session = await this.#guard('get', () => this.#store.get(serverName));
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      void this.delete(serverName);
      return undefined;
    }
    return session;
  }

  async set(serverName: string, session: StoredSession): Promise<void> {
    await this.#guard('set', () => this.#store.set(serverName, session));
  }

  async delete(serverName: string): Promise<void> {
    await this.#guard('delete', () => this.#store.delete(serverName));
  }

  async #guard<T>(operation: 'get' | 'set' | 'delete', run: () => T | Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = run();
      // A store that answers synchronously (the in-memory one) needs no timer.
      if (!isPromiseLike(pending)) return pending;
      const result = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new TicketStoreError(operation, `no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
          timer.unref();
        }),
      ]);
      return result;
    } catch (error) {
      this.#failures++;
      const failure =
        error instanceof TicketStoreError
          ? error
          : new TicketStoreError(operation, error instanceof Error ? error.message : String(error), { cause: error });
      this.#onError?.(failure);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A session as JSON, for handing a provisioned session to a gateway's store (it contains the
 * session ticket: treat the text as a secret).
 */
export function encodeStoredSession(serverName: string, session: StoredSession): string {
  return `${JSON.stringify({
    serverName,
    session: Buffer.from(session.session.reveal()).toString('base64'),
    expiresAt: session.expiresAt,
    ...(session.settings === undefined ? {} : { settings: serializePeerSettings(session.settings) }),
  })}\n`;
}

/** Reads what {@link encodeStoredSession} wrote. */
export function decodeStoredSession(text: string): { serverName: string; session: StoredSession } {
  let value: { serverName?: unknown; session?: unknown; expiresAt?: unknown; settings?: unknown };
  try {
    value = JSON.parse(text) as typeof value;
  } catch {
    throw new CredentialsError('', 'session file is not valid JSON');
  }
  if (typeof value.serverName !== 'string' || value.serverName === '') throw new CredentialsError('serverName', 'is missing');
  if (typeof value.session !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value.session)) throw new CredentialsError('session', 'must be base64');
  if (typeof value.expiresAt !== 'number') throw new CredentialsError('expiresAt', 'must be a number');
  const settings = value.settings;
  if (settings !== undefined && !isSerializedPeerSettings(settings)) throw new CredentialsError('settings', serializedPeerSettingsShape);
  return {
    serverName: value.serverName,
    session: {
      session: new Secret(Uint8Array.from(Buffer.from(value.session, 'base64')), 'session ticket'),
      expiresAt: value.expiresAt,
      ...(settings === undefined ? {} : { settings: deserializePeerSettings(settings) }),
    },
  };
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}
