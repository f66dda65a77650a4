/**
 * A worker process of the mini-platform: credentials from QFAAS_CREDENTIALS (provisioned by the
 * 0-RTT generator just before this process started), its function from the credentials. Serves
 * HTTP/3 over QUIC on QFAAS_WORKER_HOST (default 127.0.0.1). Prints "LISTENING <port>"; exits when
 * stdin closes.
 */
import { loadCredentials } from 'qfaas/zero-rtt';
import { runWorkerProcess, startFunctionWorker } from './function-worker.js';

const worker = await startFunctionWorker({ credentials: loadCredentials(), host: process.env.QFAAS_WORKER_HOST || '127.0.0.1' });
runWorkerProcess(worker);
