import type { InvokerClient, InvokerFetchInit, InvokerTarget } from '../../src/invoker-client/index.js';

/** `client.fetch()` to a worker given as an address and a name (the form tests keep their workers in). */
export function fetchTarget(client: InvokerClient, target: InvokerTarget, init: InvokerFetchInit = {}): Promise<Response> {
  return client.fetch(`https://${target.serverName}${target.path ?? '/'}`, { ...init, connectTo: { host: target.host, port: target.port } });
}
