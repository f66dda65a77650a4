import { describe, expect, it, vi } from 'vitest';
import { isQfaasConfigError } from '../../src/errors.js';
import { createHandlerServer, readWatchdogConfig } from '../../src/handler-server/index.js';
import { createPlatformCA, ZeroRttGenerator } from '../../src/zero-rtt/index.js';

describe('what a worker refuses at start, naming the option', () => {
  it('createHandlerServer refuses one outside 0 (any free port) to 65535, naming port', async () => {
    const ca = await createPlatformCA();
    const { worker } = await new ZeroRttGenerator({ ca }).provision({ functionName: 'fn', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    for (const port of [70_000, -1, 1.5]) {
      const error = await createHandlerServer({ credentials: worker, host: '127.0.0.1', port, handler: () => new Response('ok') }).catch((e: unknown) => e);
      expect(isQfaasConfigError(error)).toBe(true);
      expect(error).toMatchObject({ field: 'port' });
      expect((error as Error).message).toContain('65535');
    }
  });

  it('qfaas-watchdog refuses port=70000 from its environment, naming port', () => {
    expect(() => readWatchdogConfig({ fprocess: 'x', port: '70000' })).toThrow(expect.objectContaining({ code: 'QFAAS_INVALID_CONFIG', field: 'port' }));
    expect(() => readWatchdogConfig({ fprocess: 'x', port: '80.5' })).toThrow(expect.objectContaining({ field: 'port' }));
    expect(readWatchdogConfig({ fprocess: 'x', port: '0' }).port).toBe(0);
  });

  it('createHandlerServer with credentials that expired since they were loaded: CredentialsError on certPem, re-provision the worker', async () => {
    const ca = await createPlatformCA();
    const { worker } = await new ZeroRttGenerator({ ca }).provision({ functionName: 'fn', instanceId: 'i-1', hosts: ['127.0.0.1'] });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 31 * 24 * 3600_000);
      const error = await createHandlerServer({ credentials: worker, host: '127.0.0.1', handler: () => new Response('ok') }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'CredentialsError', code: 'QFAAS_INVALID_CREDENTIALS', field: 'certPem' });
      expect((error as Error).message).toContain('re-provision the worker');
    } finally {
      vi.useRealTimers();
    }
  });
});
