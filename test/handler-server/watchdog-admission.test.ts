import { describe, expect, it } from 'vitest';
import { readWatchdogConfig } from '../../src/handler-server/index.js';

describe('qfaas-watchdog flood defences from the environment', () => {
  it('reads QFAAS_MAX_CONNECTIONS, QFAAS_MAX_HALF_OPEN_CONNECTIONS, QFAAS_HANDSHAKE_TIMEOUT and QFAAS_RETRY_THRESHOLD', () => {
    expect(readWatchdogConfig({ fprocess: 'x' }).admission).toEqual({});
    const config = readWatchdogConfig({
      fprocess: 'x',
      QFAAS_MAX_CONNECTIONS: '500',
      QFAAS_MAX_HALF_OPEN_CONNECTIONS: '200',
      QFAAS_HANDSHAKE_TIMEOUT: '3s',
      QFAAS_RETRY_THRESHOLD: '0',
    });
    expect(config.admission).toEqual({ maxConnections: 500, maxHalfOpenConnections: 200, handshakeTimeoutMs: 3000, retry: { halfOpenThreshold: 0 } });
    expect(readWatchdogConfig({ fprocess: 'x', QFAAS_RETRY_THRESHOLD: 'off' }).admission).toEqual({ retry: false });
    expect(() => readWatchdogConfig({ fprocess: 'x', QFAAS_MAX_CONNECTIONS: '0' })).toThrow(/QFAAS_MAX_CONNECTIONS/);
    expect(() => readWatchdogConfig({ fprocess: 'x', QFAAS_HANDSHAKE_TIMEOUT: 'soon' })).toThrow(/QFAAS_HANDSHAKE_TIMEOUT/);
    expect(() => readWatchdogConfig({ fprocess: 'x', QFAAS_RETRY_THRESHOLD: 'sometimes' })).toThrow(/QFAAS_RETRY_THRESHOLD/);
  });
});
