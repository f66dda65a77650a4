/**
 * The one place that touches `@matrixai/quic`'s native quiche binding. Only the binding is loaded,
 * not js-quic's high-level client and server (they cannot do 0-RTT; see docs/transport.md).
 */
import { quiche, Shutdown, Type } from '@matrixai/quic/native/index.js';
import type {
  Config as QuicheConfig,
  Connection as QuicheConnection,
  ConnectionError as QuicheConnectionError,
  Header as QuicheHeader,
  Host as QuicheHostPort,
} from '@matrixai/quic/native/index.js';

export { quiche, Shutdown, Type };
export type { QuicheConfig, QuicheConnection, QuicheConnectionError, QuicheHeader, QuicheHostPort };

/**
 * The binding reports quiche errors as `Error` whose message is the Rust variant, e.g.
 * `StreamReset(55)`, and quiche's `Done` as a null result. The only place those strings are read;
 * test/transport/binding-failures.test.ts produces each one the driver relies on.
 */
export interface BindingFailure {
  readonly kind: string;
  readonly code: number | undefined;
}

const variantPattern = /^([A-Za-z]+)(?:\((\d+)\))?$/;

export function parseBindingFailure(error: unknown): BindingFailure {
  const message = error instanceof Error ? error.message : String(error);
  const match = variantPattern.exec(message);
  if (match === null) return { kind: message, code: undefined };
  return { kind: match[1] ?? message, code: match[2] === undefined ? undefined : Number(match[2]) };
}

/** quiche encodes a TLS alert as transport error 0x100 + alert (RFC 9001 section 4.8). */
export const cryptoErrorStart = quiche.CRYPTO_ERROR_START;
export const cryptoErrorStop = quiche.CRYPTO_ERROR_STOP;
export const quicVersion1 = quiche.PROTOCOL_VERSION;
export const minClientInitialLength = quiche.MIN_CLIENT_INITIAL_LEN;
