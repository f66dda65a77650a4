#!/usr/bin/env node
/**
 * qfaas-watchdog: a drop-in for OpenFaaS's of-watchdog in HTTP mode. Reads of-watchdog's
 * environment variables and QFAAS_CREDENTIALS, starts `fprocess`, serves HTTP/3 over QUIC (with
 * 0-RTT) on UDP `port` and /_/health, /_/ready on TCP `port`. SIGTERM drains and exits.
 */
import { isQfaasError } from '../errors.js';
import { startWatchdog } from '../handler-server/watchdog.js';
import { readWatchdogConfig } from '../handler-server/watchdog-config.js';
import { loadCredentials } from '../zero-rtt/credentials.js';

async function main(): Promise<void> {
  const config = readWatchdogConfig(process.env);
  const credentials = loadCredentials();
  const watchdog = await startWatchdog(config, credentials, process.env.QFAAS_HOST === undefined ? {} : { host: process.env.QFAAS_HOST });
  process.stderr.write(
    `qfaas-watchdog: ${credentials.serverName} on udp/${watchdog.handler.address.port} (HTTP/3), health on tcp/${watchdog.healthPort}\n`,
  );
  const shutdown = (signal: string) => {
    process.stderr.write(`qfaas-watchdog: ${signal}, draining\n`);
    void watchdog.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  const code = await watchdog.functionExited;
  if (!watchdog.handler.draining) {
    process.stderr.write(`qfaas-watchdog: the function exited with ${code}\n`);
    await watchdog.stop();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`qfaas-watchdog: ${isQfaasError(error) ? error.message : (error as Error).message}\n`);
  process.exit(1);
});
