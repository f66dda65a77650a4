import { describe, expect, it } from 'vitest';
import { isQfaasConfigError, isQfaasError, QfaasConfigError } from '../src/errors.js';
import { InvokerError, isInvokerError } from '../src/invoker-client/index.js';

describe('qfaas errors', () => {
  it('are recognised across two copies of the package (a duplicate install), where instanceof fails', async () => {
    // The same source loaded again as a separate module instance, as a second copy in node_modules would be.
    const secondCopy = '../src/errors.js?second-copy';
    const copy = (await import(/* @vite-ignore */ secondCopy)) as typeof import('../src/errors.js');
    const foreign = new copy.QfaasConfigError('port', 'must be a number');
    expect(foreign).not.toBeInstanceOf(QfaasConfigError);
    expect(isQfaasError(foreign)).toBe(true);
    expect(isQfaasConfigError(foreign)).toBe(true);
    expect(copy.isQfaasConfigError(new QfaasConfigError('port', 'must be a number'))).toBe(true);
  });

  it('are told apart by name, and nothing else passes for one', () => {
    const timeout = new InvokerError('QFAAS_REQUEST_TIMEOUT', 'no response');
    expect(isInvokerError(timeout)).toBe(true);
    expect(isQfaasConfigError(timeout)).toBe(false);
    expect(isQfaasError(new Error('plain'))).toBe(false);
    expect(isQfaasError({ name: 'InvokerError', code: 'QFAAS_REQUEST_TIMEOUT' })).toBe(false);
    expect(isQfaasError(null)).toBe(false);
  });
});
