import { chainCredentialsEnvVar, credentialsEnvVar, encodeChainCredentials, type WorkerCredentials } from '../zero-rtt/credentials.js';

/** The watchdog's own secrets: never passed to the function (a Redis URL may carry a password). */
const watchdogOnly = new Set([credentialsEnvVar, chainCredentialsEnvVar, 'QFAAS_REDIS_URL']);

/**
 * The environment of the function process qfaas-watchdog starts: the watchdog's own, without the
 * worker's credentials bundle (its private key and ticket key are the watchdog's, not the
 * function's: a function that prints its environment must not print them) or its Redis URL, plus
 * `QFAAS_CHAIN_CREDENTIALS` when the worker was provisioned with chain credentials, which is all
 * `chain.invoke()` needs.
 */
export function functionEnvironment(parent: Readonly<Record<string, string | undefined>>, credentials: WorkerCredentials): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || watchdogOnly.has(name)) continue;
    env[name] = value;
  }
  if (credentials.chain !== undefined) env[chainCredentialsEnvVar] = encodeChainCredentials(credentials);
  return env;
}
