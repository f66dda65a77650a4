/**
 * Where the platform's workers run. The platform provisions each worker for `workerHost` (its
 * certificate names it), starts it with `command`, and calls it there; workers call the chain
 * gateway on `gatewayHost`. Each side must reach the other's address.
 */
import { fileURLToPath } from 'node:url';

export interface WorkerPlacement {
  /** Address workers listen on and the gateway calls them at. */
  readonly workerHost: string;
  /** Address the chain gateway listens on and workers call it at. */
  readonly gatewayHost: string;
  /**
   * The command line of a worker process, run from the project root. The platform adds the
   * worker's credentials (QFAAS_CREDENTIALS) and `workerHost` (QFAAS_WORKER_HOST) to its
   * environment; the process prints "LISTENING <port>" and exits when its stdin closes
   * (function-worker.ts, runWorkerProcess).
   */
  readonly command: readonly [string, ...string[]];
}

/** Workers as child processes of this one (worker.ts), everything on 127.0.0.1. */
export const localWorkers: WorkerPlacement = {
  workerHost: '127.0.0.1',
  gatewayHost: '127.0.0.1',
  command: [process.execPath, '--import', 'tsx', fileURLToPath(new URL('./worker.ts', import.meta.url))],
};
