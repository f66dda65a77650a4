/**
 * The client side of the benchmarks' node:http and node:https servers (node-servers.ts): one
 * request, checked to have brought back the servers' answer.
 */
import type http from 'node:http';
import type https from 'node:https';

/** The benchmark servers' answer size for `path`: 1 MiB at `/1mib`, else 100 bytes. */
export const expectedBytes = (path: string): number => (path === '/1mib' ? 1 << 20 : 100);

/**
 * One node:http or node:https request (a POST carries `payload`), resolved once the whole response
 * arrived and checked to be the benchmark servers' answer for `path` (bench/lib/node-servers.ts).
 */
export function nodeExchange(options: {
  module: typeof http | typeof https;
  agent: http.Agent | false;
  host: string;
  port: number;
  method: 'GET' | 'POST';
  path?: string;
  serverName: string;
  caPem: string;
  payload: Buffer;
}): Promise<void> {
  const { module, agent, host, port, method, path = '/', serverName, caPem, payload } = options;
  return new Promise((resolve, reject) => {
    const expected = expectedBytes(path);
    const request = module.request(
      { host, port, method, path, agent, servername: serverName, ca: caPem, headers: method === 'POST' ? { 'content-length': payload.length } : {} },
      (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.once('end', () => (bytes === expected ? resolve() : reject(new Error(`got ${bytes} bytes`))));
      },
    );
    request.once('error', reject);
    request.end(method === 'POST' ? payload : undefined);
  });
}
