/**
 * A worker process of the mini-platform: credentials from QFAAS_CREDENTIALS (provisioned by the
 * 0-RTT generator just before this process started), its function from the credentials, HTTP/3
 * on loopback. Prints "LISTENING <port>"; exits when stdin closes.
 */
import { createChainClient } from 'qfaas/chain';
import { createHandlerServer } from 'qfaas/handler-server';
import { loadCredentials } from 'qfaas/zero-rtt';
import { functions } from './functions.js';

const credentials = loadCredentials();
const code = functions[credentials.functionName];
if (code === undefined) throw new Error(`unknown function ${credentials.functionName}`);
const chain = createChainClient({ credentials });
const server = await createHandlerServer({
  credentials,
  host: '127.0.0.1',
  handler: (request) => code(request, chain),
  limits: { execTimeoutMs: 30_000 },
});
process.stdout.write(`LISTENING ${server.address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void Promise.all([chain.close(), server.close({ timeoutMs: 500 })]).then(() => process.exit(0));
});
