import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { WorkerCredentials } from '../zero-rtt/credentials.js';
import { functionEnvironment } from './function-environment.js';
import { createHandlerServer, type HandlerServer } from './handler-server.js';
import { RedisIdempotencyStore } from '../replay-guard/redis-idempotency-store.js';
import { RedisStrikeRegister } from '../replay-guard/redis-strike-register.js';
import { UpstreamProxy } from './upstream-proxy.js';
import type { WatchdogConfig } from './watchdog-config.js';
import { WatchdogStartError } from '../errors.js';

/** A running qfaas-watchdog: the handler server in front of the function process. */
export interface Watchdog {
  readonly handler: HandlerServer;
  /** The TCP port of /_/health and /_/ready. */
  readonly healthPort: number;
  /** Resolves with the function process' exit code when it exits on its own. */
  readonly functionExited: Promise<number | null>;
  /** Drain (GOAWAY, finish in-flight up to write_timeout), stop the function, close. */
  stop(): Promise<void>;
}

/**
 * An of-watchdog (HTTP mode) drop-in: starts `fprocess`, waits until it answers, proxies HTTP/3
 * requests to it, and serves /_/health and /_/ready over TCP with of-watchdog's semantics (503
 * while draining, 429 at max_inflight).
 */
export async function startWatchdog(config: WatchdogConfig, credentials: WorkerCredentials, options: { host?: string } = {}): Promise<Watchdog> {
  const [command, ...args] = config.fprocess as [string, ...string[]];
  // The function gets its chain credentials, never the worker's key or ticket key.
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: functionEnvironment(process.env, credentials) });
  const functionExited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const probe = new UpstreamProxy(config.upstreamUrl, { maxSockets: 2 });
  const deadline = performance.now() + Math.max(config.readTimeoutMs, 1000);
  let up = false;
  while (!up && performance.now() < deadline && child.exitCode === null) {
    up = await probe.ping(config.readyPath, 500);
    if (!up) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!up) {
    child.kill('SIGKILL');
    probe.close();
    throw new WatchdogStartError(`the function (${command}) did not answer at ${config.upstreamUrl}${config.readyPath} within ${config.readTimeoutMs} ms`);
  }

  // Replicas of one bundle share one ticket key: their strike register and keys must be shared too.
  const strikeRegister = config.redisUrl === undefined ? undefined : new RedisStrikeRegister({ redis: config.redisUrl });
  const idempotencyStore =
    config.redisUrl === undefined ? undefined : new RedisIdempotencyStore({ redis: config.redisUrl, keyPrefix: `qfaas:idem:${credentials.functionName}:` });
  const closeRedis = async () => {
    await Promise.all([strikeRegister?.close(), idempotencyStore?.close()]);
  };
  const handler = await createHandlerServer({
    credentials,
    ...(strikeRegister === undefined || idempotencyStore === undefined ? {} : { replayGuard: { strikeRegister, idempotency: { store: idempotencyStore } } }),
    upstream: config.upstreamUrl,
    host: options.host ?? '0.0.0.0',
    port: config.port,
    limits: { maxInflight: config.maxInflight, execTimeoutMs: config.execTimeoutMs, drainTimeoutMs: config.writeTimeoutMs, timeoutHeader: 'x-timeout' },
    ...config.admission,
  }).catch(async (error: unknown) => {
    // Nothing may outlive a failed start: the function process, the probe, the Redis clients.
    child.kill('SIGKILL');
    probe.close();
    await closeRedis();
    throw error;
  });

  let upstreamHealthy = true;
  const healthTimer = setInterval(() => {
    void probe.ping(config.readyPath, Math.min(config.healthcheckIntervalMs, 2000)).then((ok) => {
      upstreamHealthy = ok;
    });
  }, Math.max(config.healthcheckIntervalMs, 100));
  healthTimer.unref();

  const health = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, text: string) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(text);
    };
    if (path === '/_/health') {
      if (handler.draining) send(503, 'draining\n');
      else send(upstreamHealthy ? 200 : 503, upstreamHealthy ? 'OK\n' : 'upstream unhealthy\n');
    } else if (path === '/_/ready') {
      if (handler.draining) send(503, 'draining\n');
      else if (config.maxInflight > 0 && handler.metrics().inflight >= config.maxInflight) send(429, 'at max_inflight\n');
      else send(upstreamHealthy ? 200 : 503, upstreamHealthy ? 'OK\n' : 'upstream unhealthy\n');
    } else {
      send(404, 'not found: requests are served over HTTP/3 on UDP\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    health.once('error', reject);
    health.listen(config.port === 0 ? 0 : handler.address.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = health.address();
  const healthPort = typeof address === 'object' && address !== null ? address.port : 0;

  let stopping: Promise<void> | undefined;
  return {
    handler,
    healthPort,
    functionExited,
    stop() {
      stopping ??= (async () => {
        clearInterval(healthTimer);
        await handler.close({ timeoutMs: config.writeTimeoutMs });
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          const forced = setTimeout(() => child.kill('SIGKILL'), 2000);
          await functionExited;
          clearTimeout(forced);
        }
        probe.close();
        await closeRedis();
        await new Promise<void>((resolve) => health.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
