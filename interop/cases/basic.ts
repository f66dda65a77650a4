/** handshake, transfer, multiplexing, http3: the interop runner's basic cases. */
import { check } from '../context.js';
import { qfaasDownload } from '../qfaas-side.js';
import { bytes, mib, type InteropCase } from './case.js';
import { negotiatedSuite, peerClientDownload, qfaasClientDownload, wireConnections } from './common.js';

export const handshake: InteropCase = {
  name: 'handshake',
  proves: 'A full handshake (TLS 1.3, ALPN h3) completes and a 1 KiB file arrives intact (SHA-256), on exactly one connection.',
  setup: {
    'qfaas-client': 'peer server serving www/; the qfaas client GETs /hello.bin',
    'peer-client': 'qfaas HTTP/3 server (createHttp3Server-style: createQuicServer + serveHttp3) serving www/; the peer client GETs /hello.bin',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([{ name: 'hello.bin', size: 1024 }]);
      const { relay, download } = await qfaasClientDownload(context, files);
      const [connection] = wireConnections(context, relay, 1);
      check(!download.handshake.resumed, 'the first connection claims to be resumed');
      return `1 connection, ${negotiatedSuite(connection!)}, handshake ${download.handshake.handshakeMs.toFixed(0)} ms, body SHA-256 matches`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([{ name: 'hello.bin', size: 1024 }]);
      const { qfaas, relay } = await peerClientDownload(context, files);
      const [connection] = wireConnections(context, relay, 1);
      check(qfaas.requests.length === 1, `the qfaas handler ran ${qfaas.requests.length} times, expected 1`);
      check(qfaas.connections.length === 1 && qfaas.connections[0]?.handshake !== undefined, 'the qfaas server did not see one completed handshake');
      return `1 connection, ${negotiatedSuite(connection!)}, 1 request served, body SHA-256 matches`;
    },
  },
};

const transferFiles = [
  { name: 'transfer-1.bin', size: 4 * mib },
  { name: 'transfer-2.bin', size: 2 * mib },
  { name: 'transfer-3.bin', size: 1 * mib },
];
const transferTotal = transferFiles.reduce((sum, file) => sum + file.size, 0);

export const transfer: InteropCase = {
  name: 'transfer',
  proves: `Three files of ${transferFiles.map((file) => bytes(file.size)).join(', ')} (${bytes(transferTotal)}), fetched concurrently on one connection (flow control windows are exceeded and must be extended), arrive intact (SHA-256).`,
  setup: {
    'qfaas-client': 'peer server serving www/; the qfaas client GETs the three files concurrently on one connection',
    'peer-client': 'qfaas server serving www/; the peer client GETs the three files',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles(transferFiles);
      const started = performance.now();
      const { relay } = await qfaasClientDownload(context, files);
      const seconds = (performance.now() - started) / 1000;
      wireConnections(context, relay, 1);
      return `${bytes(transferTotal)} in 3 files on 1 connection, SHA-256 match, ${(transferTotal / mib / seconds).toFixed(0)} MiB/s`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles(transferFiles);
      const started = performance.now();
      const { qfaas, relay } = await peerClientDownload(context, files);
      const seconds = (performance.now() - started) / 1000;
      wireConnections(context, relay, 1);
      check(qfaas.requests.length === 3, `the qfaas handler ran ${qfaas.requests.length} times, expected 3`);
      return `${bytes(transferTotal)} in 3 files on 1 connection, SHA-256 match, ${(transferTotal / mib / seconds).toFixed(0)} MiB/s (peer process included)`;
    },
  },
};

const streamCount = 1200;
const multiplexFiles = Array.from({ length: streamCount }, (_, i) => ({ name: `m${String(i).padStart(4, '0')}.bin`, size: 32 }));

export const multiplexing: InteropCase = {
  name: 'multiplexing',
  proves: `${streamCount} requests (one bidirectional stream each) on one connection, more than the server lets a client open at once: the client waits for MAX_STREAMS, the server never sees more streams than it allowed (it would close the connection with STREAM_LIMIT_ERROR), and every 32-byte body is intact.`,
  setup: {
    'qfaas-client': `peer server serving ${streamCount} files; the qfaas client requests all of them at once on one connection (its stream opener waits for the peer's MAX_STREAMS)`,
    'peer-client': `qfaas server (128 concurrent bidirectional streams, the library default) serving ${streamCount} files; the peer client requests all of them`,
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles(multiplexFiles);
      const { relay } = await qfaasClientDownload(context, files);
      wireConnections(context, relay, 1);
      return `${streamCount} requests on 1 connection, all 200 with intact bodies`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles(multiplexFiles);
      const { qfaas, relay } = await peerClientDownload(context, files);
      wireConnections(context, relay, 1);
      check(qfaas.requests.length === streamCount, `the qfaas handler ran ${qfaas.requests.length} times, expected ${streamCount}`);
      check(new Set(qfaas.requests.map((request) => request.connection)).size === 1, 'the requests came on more than one connection');
      check(qfaas.peakConcurrency <= 128, `the handler ran ${qfaas.peakConcurrency} requests at once, more than the 128 streams allowed`);
      return `${streamCount} handler executions on 1 connection, at most ${qfaas.peakConcurrency} at once (limit 128), bodies intact`;
    },
  },
};

export const http3: InteropCase = {
  name: 'http3',
  proves:
    'Several HTTP/3 requests on one connection: status codes (200, and 404 for a missing file from a peer server), response headers (content-length matches the body), request pseudo-headers as the qfaas server receives them (:method, :scheme, :authority, :path), bodies intact.',
  setup: {
    'qfaas-client': 'peer server serving www/; the qfaas client GETs three files and one missing path on one connection',
    'peer-client': 'qfaas server serving www/; the peer client GETs three files; the qfaas handler records each request head',
  },
  run: {
    async 'qfaas-client'(context) {
      const files = await context.makeFiles([
        { name: 'page-1.bin', size: 100 },
        { name: 'page-2.bin', size: 70_000 },
        { name: 'page-3.bin', size: 1 },
      ]);
      const { server, relay } = await context.startPeerServer();
      const download = await qfaasDownload({
        port: relay.port,
        serverName: context.pki.serverName,
        caPem: context.pki.ca.certPem,
        paths: [...files.map((file) => file.path), '/missing.bin'],
      }).catch((error: Error) => {
        throw new Error(`${error.message}; peer server: ${server.log().slice(-400)}`);
      });
      for (const file of files) {
        check(download.statuses.get(file.path) === 200, `GET ${file.path} answered ${String(download.statuses.get(file.path))}`);
        check(download.hashes.get(file.path) === file.sha256, `GET ${file.path}: body differs`);
        const length = download.headers.get(file.path)?.['content-length'];
        check(length === undefined || Number(length) === file.size, `GET ${file.path}: content-length ${String(length)}, body ${file.size}`);
      }
      check(download.statuses.get('/missing.bin') === 404, `GET /missing.bin answered ${String(download.statuses.get('/missing.bin'))}, expected 404`);
      wireConnections(context, relay, 1);
      const withLength = files.filter((file) => download.headers.get(file.path)?.['content-length'] !== undefined).length;
      return `4 requests on 1 connection: 3 × 200 with intact bodies (content-length on ${withLength} of 3, matching), 404 for a missing file`;
    },
    async 'peer-client'(context) {
      const files = await context.makeFiles([
        { name: 'page-1.bin', size: 100 },
        { name: 'page-2.bin', size: 70_000 },
        { name: 'page-3.bin', size: 1 },
      ]);
      const { qfaas, relay } = await peerClientDownload(context, files);
      wireConnections(context, relay, 1);
      check(qfaas.requests.length === 3, `the qfaas handler ran ${qfaas.requests.length} times, expected 3`);
      for (const request of qfaas.requests) {
        check(request.method === 'GET', `a request came with :method ${request.method}`);
        check(request.scheme === 'https', `a request came with :scheme ${request.scheme}`);
        check(request.authority.split(':')[0] === context.pki.serverName || request.authority.startsWith('127.0.0.1'), `a request came with :authority ${request.authority}`);
      }
      const paths = qfaas.requests.map((request) => request.path).sort();
      check(JSON.stringify(paths) === JSON.stringify(files.map((file) => file.path).sort()), `the server saw paths ${paths.join(', ')}`);
      return `3 requests on 1 connection: GET, https, :authority ${qfaas.requests[0]?.authority}, the paths asked for; 200 with intact bodies`;
    },
  },
};
