/**
 * The certificates of an interop run, from the library's own platform CA (createPlatformCA),
 * written as PEM files for the peers: a server certificate, one with a chain large enough to hit
 * the 3x amplification limit, a client certificate for mutual TLS, and a client certificate from
 * another CA (which must be refused). Also the worker credentials of a handler server, from the
 * 0-RTT generator.
 */
import { writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { createPlatformCA, ZeroRttGenerator, type PlatformCA, type WorkerCredentials } from '../src/zero-rtt/index.js';

export interface CertificateFiles {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** Size of the leaf certificate's DER: a handshake that sends it carries at least this much. */
  derBytes: number;
}

export interface Pki {
  ca: PlatformCA;
  caFile: string;
  /** The name every server certificate carries (and clients ask for). */
  serverName: string;
  server: CertificateFiles;
  /** A server certificate with a few hundred names: about 9 KB, well over 3x a client Initial. */
  bigServer: CertificateFiles;
  client: CertificateFiles;
  /** A client certificate from a CA nobody here trusts. */
  foreignClient: CertificateFiles;
  /** A handler server's credentials (0-RTT generator, mutual TLS required) and its server name. */
  worker: WorkerCredentials;
  /** The invoker certificate the generator minted the worker's session for (a client certificate). */
  invoker: CertificateFiles;
}

export const serverName = 'server.interop.qfaas.internal';

async function write(dir: string, name: string, issued: { certPem: string; keyPem: string }): Promise<CertificateFiles> {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  await writeFile(certFile, issued.certPem);
  await writeFile(keyFile, issued.keyPem, { mode: 0o600 });
  return { ...issued, certFile, keyFile, derBytes: new X509Certificate(issued.certPem).raw.length };
}

/** Makes the run's certificates in `dir` (a private temporary directory). */
export async function createPki(dir: string): Promise<Pki> {
  const ca = await createPlatformCA();
  const foreignCa = await createPlatformCA();
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const hosts = ['127.0.0.1', 'localhost'];
  const manyNames = Array.from({ length: 200 }, (_, i) => `name-${String(i).padStart(3, '0')}.amplification.interop.qfaas.internal`);
  const generator = new ZeroRttGenerator({ ca });
  const provisioned = await generator.provision({ functionName: 'interop', instanceId: 'w1', hosts });
  const [server, bigServer, client, foreignClient, invoker] = await Promise.all([
    ca.issue({ role: 'worker', name: serverName, hosts }).then((issued) => write(dir, 'server', issued)),
    ca.issue({ role: 'worker', name: serverName, hosts: [...hosts, ...manyNames] }).then((issued) => write(dir, 'big-server', issued)),
    ca.issue({ role: 'invoker', name: 'interop-client' }).then((issued) => write(dir, 'client', issued)),
    foreignCa.issue({ role: 'invoker', name: 'foreign-client' }).then((issued) => write(dir, 'foreign-client', issued)),
    generator.invokerCertificate().then((issued) => write(dir, 'invoker', issued)),
  ]);
  return { ca, caFile, serverName, server, bigServer, client, foreignClient, worker: provisioned.worker, invoker };
}
