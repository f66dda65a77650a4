import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Whether a server certificate carries the name a client asked for, and which names it does
 * carry, read after a handshake failed so that the error can say why. Only explains: whether a
 * certificate is accepted is decided by BoringSSL during the handshake, never here.
 */
export function checkServerName(certificateDer: Uint8Array, serverName: string): { matches: boolean; names: string[] } | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateDer);
  } catch {
    return undefined;
  }
  // quiche hands the name to BoringSSL as a host name, which is compared with the DNS names only:
  // an IP address never matches, even one the certificate carries (measured).
  const matches = isIP(serverName) === 0 && certificate.checkHost(serverName) !== undefined;
  return { matches, names: subjectAltNames(certificate.subjectAltName) };
}

/**
 * The DNS names and IP addresses of a subjectAltName as node:crypto prints it
 * (`DNS:a, IP Address:10.0.0.1`; a value with unusual characters comes as a JSON string).
 */
function subjectAltNames(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names: string[] = [];
  for (const match of text.matchAll(/(?:^|, )(DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    let value = match[2] as string;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    // The certificate comes from the peer: keep its text printable and short in our messages.
    names.push(value.replace(/[^\x21-\x7e]/g, '?').slice(0, 253));
  }
  return names;
}
