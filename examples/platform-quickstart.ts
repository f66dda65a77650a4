// A platform on one machine, in the order a control plane does it: npx tsx examples/platform-quickstart.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chain, createChainGateway } from 'qfaas/chain';
import { createHandlerServer } from 'qfaas/handler-server';
import { InvokerClient, type InvokerTarget } from 'qfaas/invoker-client';
import { createPlatformCA, credentialsEnvValue, loadCredentials, MemoryTicketStore, ZeroRttGenerator } from 'qfaas/zero-rtt';

// The functions. `greet` calls `shout` through the chain gateway, with a path after its name.
const functions: Record<string, (request: Request) => Promise<Response>> = {
  shout: async (request) => new Response(new URL(request.url).pathname.slice(1).toUpperCase()),
  greet: async (request) => {
    const shouted = await chain.invoke(`shout${new URL(request.url).pathname}`, { parent: request });
    return new Response(`hello, ${await shouted.text()}!`);
  },
};

// A worker process: credentials from QFAAS_CREDENTIALS, the shutdown line every worker needs.
async function worker(name: string): Promise<void> {
  const server = await createHandlerServer({ credentials: loadCredentials(), host: '127.0.0.1', handler: functions[name] });
  process.on('SIGTERM', () => void server.close());
  console.log(server.address.port);
}

async function platform(): Promise<void> {
  // 1. The platform CA; its key stays in the control plane.
  const ca = await createPlatformCA();
  // 2. The gateway: its invoker (a client certificate, a ticket store) and the chain gateway, which
  //    must run before workers are provisioned, since their credentials carry its address.
  const ticketStore = new MemoryTicketStore();
  const invokerCertificate = await ca.issue({ role: 'invoker', name: 'gateway' });
  const invoker = new InvokerClient({ ca, certificate: invokerCertificate, ticketStore });
  const gatewayName = 'chain.gateway.qfaas.internal';
  const gatewayIdentity = { certificate: await ca.issue({ role: 'gateway', name: gatewayName, hosts: ['127.0.0.1'] }), ticketKey: randomBytes(48) };
  const instances = new Map<string, InvokerTarget>();
  const chainGateway = await createChainGateway({
    credentials: { caPem: ca.certPem, ...gatewayIdentity },
    invoker,
    host: '127.0.0.1',
    resolve: (name) => {
      const instance = instances.get(name);
      if (instance === undefined) throw new Error(`no instance of ${name}`); // the caller gets 503
      return instance;
    },
  });
  // 3. The 0-RTT generator: for each new worker, credentials and the invoker's session for it.
  const generator = new ZeroRttGenerator({
    ca,
    invokerCertificate,
    chainGateway: { serverName: gatewayName, host: '127.0.0.1', port: chainGateway.address.port, ...gatewayIdentity },
  });
  // 4. Launch a worker per function: provision, store the session, start the process.
  const processes: ChildProcess[] = [];
  for (const name of Object.keys(functions)) {
    const { serverName, worker: credentials, session } = await generator.provision({ functionName: name, instanceId: 'i-1', hosts: ['127.0.0.1'] });
    await ticketStore.set(serverName, session);
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, name], {
      env: { ...process.env, QFAAS_CREDENTIALS: credentialsEnvValue(credentials) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    processes.push(child);
    const [port] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    instances.set(name, { serverName, host: '127.0.0.1', port: Number(port.toString()) });
  }
  // 5. A request from the gateway: the first one to a cold worker already goes in 0-RTT.
  const response = await invoker.request({ ...(instances.get('greet') as InvokerTarget), path: '/world' });
  console.log(`${await response.body.text()} (early data: ${response.earlyData})`); // hello, WORLD! (early data: true)
  // 6. Shut down: workers drain on SIGTERM and exit; then the chain gateway and the invoker.
  await Promise.all(processes.map(async (child) => Promise.all([once(child, 'exit'), child.kill('SIGTERM')])));
  await chainGateway.close();
  await invoker.close();
}

const role = process.argv[2];
await (role === undefined ? platform() : worker(role));
