import { QfaasConfigError } from '../errors.js';
import type { QuicAdmissionOptions } from '../transport/quic/endpoint.js';
import { checkRequestTarget } from './request-target.js';

/**
 * of-watchdog's environment variables (HTTP mode), as `qfaas-watchdog` reads them. Durations take
 * Go's syntax ("10s", "500ms", "1m30s") or a plain number of seconds, as of-watchdog does.
 */
export interface WatchdogConfig {
  /** `fprocess`: the function's command line, started by the watchdog. */
  fprocess: string[];
  /** `upstream_url`: where the function's HTTP server listens. @default http://127.0.0.1:3000 */
  upstreamUrl: string;
  /** `port`: HTTP/3 on this UDP port, health on this TCP port. @default 8080 */
  port: number;
  /** `read_timeout`: longest wait for the function to come up. @default 10 s */
  readTimeoutMs: number;
  /** `write_timeout`: how long a drain waits for requests in flight. @default 10 s */
  writeTimeoutMs: number;
  /** `exec_timeout`: a request running longer gets 504. 0 disables it. @default 10 s */
  execTimeoutMs: number;
  /** `max_inflight`: requests at once; more get 429. 0 means no limit. @default 0 */
  maxInflight: number;
  /** `healthcheck_interval`: how often the upstream is checked for /_/ready. @default write_timeout */
  healthcheckIntervalMs: number;
  /** `ready_path`: upstream path that must answer before the watchdog reports ready. @default '/' */
  readyPath: string;
  /**
   * Flood defences (docs/security.md), from `QFAAS_MAX_CONNECTIONS`, `QFAAS_MAX_HALF_OPEN_CONNECTIONS`,
   * `QFAAS_HANDSHAKE_TIMEOUT` (a duration; 0 disables it) and `QFAAS_RETRY_THRESHOLD` (half-open
   * connections from which new clients get a Retry; 0 always, `off` never).
   * @default the endpoint's: 10_000, 256, 5 s, 100
   */
  admission: QuicAdmissionOptions;
  /**
   * `QFAAS_REDIS_URL` (`redis://` or `rediss://`): the replay guard's strike register and the
   * `Idempotency-Key` store live in this Redis, shared by every replica started from one bundle and
   * surviving restarts. Required for replicas that share a bundle (docs/security.md).
   * @default undefined (in-memory: one process per bundle)
   */
  redisUrl?: string;
}

const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("1m30s", "250ms") or a number of seconds, to milliseconds. */
export function parseDuration(text: string, variable: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new QfaasConfigError(variable, `"${trimmed}" is not a duration (e.g. 10s, 500ms, 1m30s)`);
  }
  return parts.reduce((total, [, value, unit]) => total + Number(value) * (unitMs[unit as string] as number), 0);
}

function integer(text: string, variable: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) throw new QfaasConfigError(variable, `"${text}" is not a whole number`);
  const value = Number(text);
  if (value < min || value > max) throw new QfaasConfigError(variable, `must be between ${min} and ${max}`);
  return value;
}

/** Splits `fprocess` on whitespace, honouring single and double quotes (no shell is involved). */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const char of text) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started || current !== '') words.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (quote !== undefined) throw new QfaasConfigError('fprocess', 'has an unclosed quote');
  if (started || current !== '') words.push(current);
  return words;
}

function readAdmission(env: Readonly<Record<string, string | undefined>>): QuicAdmissionOptions {
  const admission: QuicAdmissionOptions = {};
  const maxConnections = env.QFAAS_MAX_CONNECTIONS;
  if (maxConnections !== undefined) admission.maxConnections = integer(maxConnections, 'QFAAS_MAX_CONNECTIONS', 1, 10_000_000);
  const maxHalfOpen = env.QFAAS_MAX_HALF_OPEN_CONNECTIONS;
  if (maxHalfOpen !== undefined) admission.maxHalfOpenConnections = integer(maxHalfOpen, 'QFAAS_MAX_HALF_OPEN_CONNECTIONS', 1, 10_000_000);
  const handshakeTimeout = env.QFAAS_HANDSHAKE_TIMEOUT;
  if (handshakeTimeout !== undefined) admission.handshakeTimeoutMs = parseDuration(handshakeTimeout, 'QFAAS_HANDSHAKE_TIMEOUT');
  const retryThreshold = env.QFAAS_RETRY_THRESHOLD;
  if (retryThreshold !== undefined) {
    admission.retry = retryThreshold.trim() === 'off' ? false : { halfOpenThreshold: integer(retryThreshold, 'QFAAS_RETRY_THRESHOLD', 0, 10_000_000) };
  }
  return admission;
}

function readRedisUrl(env: Readonly<Record<string, string | undefined>>): { redisUrl?: string } {
  const text = env.QFAAS_REDIS_URL;
  if (text === undefined || text === '') return {};
  let protocol: string;
  try {
    protocol = new URL(text).protocol;
  } catch {
    // Never quote the value: it may carry a password.
    throw new QfaasConfigError('QFAAS_REDIS_URL', 'is not a URL');
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') throw new QfaasConfigError('QFAAS_REDIS_URL', 'must be a redis:// or rediss:// URL');
  return { redisUrl: text };
}

/** Reads of-watchdog's environment variables (and qfaas's own) into a checked `WatchdogConfig`. */
export function readWatchdogConfig(env: Readonly<Record<string, string | undefined>>): WatchdogConfig {
  const mode = env.mode ?? 'http';
  if (mode !== 'http') throw new QfaasConfigError('mode', `only "http" is supported, not "${mode}"`);
  const fprocessText = env.fprocess ?? env.function_process;
  if (fprocessText === undefined || fprocessText.trim() === '') throw new QfaasConfigError('fprocess', 'is required: the command that starts the function');
  const fprocess = splitCommandLine(fprocessText);
  const upstreamUrl = env.upstream_url ?? 'http://127.0.0.1:3000';
  try {
    if (new URL(upstreamUrl).protocol !== 'http:') throw new Error('not http');
  } catch {
    throw new QfaasConfigError('upstream_url', 'must be an http:// URL');
  }
  const writeTimeoutMs = parseDuration(env.write_timeout ?? '10s', 'write_timeout');
  const readyPath = env.ready_path === undefined || env.ready_path === '' ? '/' : env.ready_path;
  try {
    checkRequestTarget(readyPath);
  } catch (error) {
    throw new QfaasConfigError('ready_path', `must be a path such as /healthz (${(error as Error).message})`);
  }
  return {
    fprocess,
    upstreamUrl,
    port: integer(env.port ?? '8080', 'port', 0, 65535),
    readTimeoutMs: parseDuration(env.read_timeout ?? '10s', 'read_timeout'),
    writeTimeoutMs,
    execTimeoutMs: parseDuration(env.exec_timeout ?? '10s', 'exec_timeout'),
    maxInflight: integer(env.max_inflight ?? '0', 'max_inflight', 0, 1_000_000),
    healthcheckIntervalMs: env.healthcheck_interval === undefined ? writeTimeoutMs : parseDuration(env.healthcheck_interval, 'healthcheck_interval'),
    readyPath,
    admission: readAdmission(env),
    ...readRedisUrl(env),
  };
}
