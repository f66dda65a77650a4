import { QfaasConfigError } from './errors.js';

/**
 * Checks for numeric options, shared by every layer: a bad value is refused with a
 * QfaasConfigError naming the option, never used.
 */

export function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new QfaasConfigError(field, 'must be a positive integer');
  return value;
}

export function nonNegativeInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) throw new QfaasConfigError(field, 'must be a whole number, zero or more');
  return value;
}

export function nonNegative(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0) throw new QfaasConfigError(field, 'must be zero or more');
  return value;
}

/**
 * A UDP port. To listen on, 0 asks the system for a free port; to connect to, 0 is nobody's
 * address. Checked here because the layers below answer a bad port with their own errors: quiche's
 * binding throws "Failed to convert u32 to u16", and node:dgram throws ERR_SOCKET_BAD_PORT from
 * inside a later send, where nobody can catch it.
 */
export function port(value: number, field: string, use: 'listen' | 'connect'): number {
  const min = use === 'listen' ? 0 : 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    const got = typeof value === 'number' ? String(value) : `a ${typeof value}`;
    throw new QfaasConfigError(field, `must be a whole number from ${use === 'listen' ? '0 (any free port)' : '1'} to 65535, not ${got}`);
  }
  return value;
}
