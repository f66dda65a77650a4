import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatformCA } from '../../src/zero-rtt/index.js';

/** PEM files for a peer program, and the certificates they hold. */
export interface PeerPki {
  /** The new temporary directory the files are in; the caller removes it. */
  dir: string;
  caPem: string;
  serverCertificate: { certPem: string; keyPem: string };
  clientCertificate: { certPem: string; keyPem: string };
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
}

/**
 * A platform CA, a worker certificate for `serverName` on 127.0.0.1 and an invoker (client)
 * certificate named `clientName`, written as PEM files (keys readable by their owner only) in a
 * new temporary directory whose name starts with `prefix`: what the interop peers' programs take.
 */
export async function writePeerPki(options: { serverName: string; clientName: string; prefix: string }): Promise<PeerPki> {
  const ca = await createPlatformCA();
  const serverCertificate = await ca.issue({ role: 'worker', name: options.serverName, hosts: ['127.0.0.1'] });
  const clientCertificate = await ca.issue({ role: 'invoker', name: options.clientName });
  const dir = await mkdtemp(join(tmpdir(), options.prefix));
  const files = {
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  };
  await Promise.all([
    writeFile(files.ca, ca.certPem),
    writeFile(files.serverCert, serverCertificate.certPem),
    writeFile(files.serverKey, serverCertificate.keyPem, { mode: 0o600 }),
    writeFile(files.clientCert, clientCertificate.certPem),
    writeFile(files.clientKey, clientCertificate.keyPem, { mode: 0o600 }),
  ]);
  return { dir, caPem: ca.certPem, serverCertificate, clientCertificate, files };
}
