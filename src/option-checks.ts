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
