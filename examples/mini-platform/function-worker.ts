/**
 * A function's worker: a handler server (HTTP/3 over QUIC, 0-RTT from the generator's credentials)
 * running the function code, with a chain client for the function's calls to others. worker.ts
 * runs one as a process of the platform.
 */
import { createChainClient, type ChainClient } from 'qfaas/chain';
import { createHandlerServer } from 'qfaas/handler-server';
import type { WorkerCredentials } from 'qfaas/zero-rtt';
import { functionCode, type Chain } from './functions.js';

export interface FunctionWorker {
  readonly port: number;
  close(): Promise<void>;
}

export interface FunctionWorkerOptions {
  /** From the generator; the function is `credentials.functionName`. */
  credentials: WorkerCredentials;
  /** Address to listen on (the credentials' certificate names it). */
  host: string;
  /** What function code calls other functions through, given the worker's chain client. @default the chain client */
  chain?: (client: ChainClient) => Chain;
}

export async function startFunctionWorker(options: FunctionWorkerOptions): Promise<FunctionWorker> {
  const { credentials, host } = options;
  const code = functionCode(credentials.functionName);
  const client = createChainClient({ credentials });
  const chain = options.chain?.(client) ?? client;
  const server = await createHandlerServer({ credentials, host, handler: (request) => code(request, chain), limits: { execTimeoutMs: 30_000 } });
  return {
    port: server.address.port,
    async close() {
      await Promise.all([client.close(), server.close({ timeoutMs: 500 })]);
    },
  };
}

/**
 * The worker process's side of the platform's protocol: prints "LISTENING <port>" for the
 * platform, and closes the worker and exits when stdin closes (the platform stopping it).
 */
export function runWorkerProcess(worker: FunctionWorker): void {
  process.stdout.write(`LISTENING ${worker.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void worker.close().then(() => process.exit(0));
  });
}
