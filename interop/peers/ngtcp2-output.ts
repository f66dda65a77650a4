/**
 * Reads what ngtcp2's example programs (Debian's gtlsclient and gtlsserver, ngtcp2 0.12.1) print on
 * stderr, line by line, into what the interop cases need: per connection, whether the handshake
 * completed, the cipher, Retry, 0-RTT sent and accepted, session resumption, key updates, the
 * requests and how their streams closed, and how the connection ended.
 *
 * The programs print no summary, so this reads their debug output:
 * - `I<ms> 0x<scid> <area> ...` lines are ngtcp2's own log (packets and frames, both directions);
 * - `Ordered CRYPTO data in <level> crypto level` is followed by a hexdump of the TLS handshake
 *   bytes received at that level (only without `--no-quic-dump`): the peer's ServerHello,
 *   EncryptedExtensions and Certificate, or the client's ClientHello and Certificate;
 * - `http: stream 0x<id> ...` and `[name: value]` lines are nghttp3 requests and responses,
 *   `HTTP stream <decimal id> closed with error code <n>` their end;
 * - `QUIC handshake has completed`, `Negotiated cipher suite is <name>`, `Early data was rejected
 *   by server`, `Initiate key update`, `ngtcp2_<fn>: ERR_<name>` are the programs' own messages.
 *
 * Kept apart from the process handling so that it can be checked on recorded output.
 */

/** A TLS extension this reader looks for, by code point (RFC 8446 section 4.2). */
const extPreSharedKey = 0x29;
const extEarlyData = 0x2a;

/** H3_NO_ERROR (RFC 9114 section 8.1): how both programs close streams and connections that ended well. */
export const h3NoError = 0x100;

/** A CONNECTION_CLOSE frame as ngtcp2 logged it. */
export interface ConnectionCloseSeen {
  /** 0x1c: transport error; 0x1d: application error. */
  frameType: 0x1c | 0x1d;
  errorCode: number;
  /** ngtcp2's name for a transport error code (e.g. CRYPTO_ERROR), when it has one. */
  errorName?: string;
  reason: string;
  /** The packet type that carried it (Initial, Handshake, 1RTT). */
  packetType: string;
}

/** Whether a close is the ordinary end of an HTTP/3 connection (no error). */
export function isCleanClose(close: ConnectionCloseSeen): boolean {
  return close.frameType === 0x1d ? close.errorCode === h3NoError || close.errorCode === 0 : close.errorCode === 0;
}

/** Describes a close for a reason line, naming the TLS alert of a CRYPTO_ERROR (0x100 + alert). */
export function describeClose(close: ConnectionCloseSeen): string {
  const code = `0x${close.errorCode.toString(16)}`;
  const what =
    close.frameType === 0x1c
      ? close.errorCode >= 0x100 && close.errorCode <= 0x1ff
        ? `transport error CRYPTO_ERROR ${code} (TLS alert ${close.errorCode - 0x100}${tlsAlertNames[close.errorCode - 0x100] === undefined ? '' : ` ${tlsAlertNames[close.errorCode - 0x100]}`})`
        : `transport error ${close.errorName ?? ''} ${code}`.replace('  ', ' ')
      : `application error ${code}${close.errorCode === h3NoError ? ' (H3_NO_ERROR)' : ''}`;
  return `${what}${close.reason === '' ? '' : `, reason "${close.reason}"`} in a ${close.packetType} packet`;
}

const tlsAlertNames: Record<number, string> = {
  10: 'unexpected_message',
  20: 'bad_record_mac',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

/** One HTTP request as the client saw it. */
export interface ClientRequestSeen {
  streamId: number;
  path: string;
  /** The response's :status, once its header section arrived. */
  status?: number;
  /** The application error code the stream closed with (256, H3_NO_ERROR, when it ended well). */
  closeCode?: number;
}

/** One connection, as gtlsclient reported it. */
export interface ClientConnectionSeen {
  /** ngtcp2's source connection ID for the connection (hex), from its log lines. */
  id?: string;
  handshakeCompleted: boolean;
  handshakeConfirmed: boolean;
  /** GnuTLS's name of the negotiated cipher suite, e.g. AES-128-GCM, CHACHA20-POLY1305. */
  cipher?: string;
  alpn?: string;
  /** A Retry packet arrived (the server validated the address). */
  retryReceived: boolean;
  /** 0-RTT packets were sent (a session and transport parameters were given). */
  earlyDataSent: boolean;
  /** The client printed "Early data was rejected by server". */
  earlyDataRejected: boolean;
  /**
   * From the received handshake bytes (only read when the CRYPTO dump is on): the ServerHello
   * carried pre_shared_key (the session was resumed), EncryptedExtensions carried early_data (0-RTT
   * accepted), the server sent a Certificate (a full handshake) or a CertificateRequest.
   */
  handshakeMessages?: {
    serverHelloPsk?: boolean;
    encryptedExtensionsEarlyData?: boolean;
    serverCertificate?: boolean;
    certificateRequest?: boolean;
  };
  /** "Initiate key update" lines: key updates this client started. */
  keyUpdatesInitiated: number;
  /** 1-RTT packets received in key phase 1: the server answered a key update. */
  keyPhaseOneReceived: boolean;
  requests: ClientRequestSeen[];
  /** CONNECTION_CLOSE frames received from the server. */
  closesReceived: ConnectionCloseSeen[];
  /** `ngtcp2_*`/`nghttp3_*` errors the client printed (ERR_DRAINING after the peer's close is normal). */
  localErrors: string[];
  /** The idle timeout or the handshake timeout ended the connection. */
  timedOut: boolean;
}

/** One connection, as gtlsserver reported it. */
export interface ServerConnectionSeen {
  /** ngtcp2's source connection ID for the connection (hex). */
  id: string;
  /** The connection's Initial carried a Retry token the server had made and checked ("Token was successfully validated"). */
  addressValidatedByRetry: boolean;
  handshakeCompleted: boolean;
  cipher?: string;
  /** From the ClientHello (needs the CRYPTO dump, which the adapter keeps on for the server). */
  clientHello?: { pskOffered: boolean; earlyDataOffered: boolean };
  /**
   * The client's Certificate message: 'sent' with at least one certificate, 'empty' without.
   * gtlsserver --verify-client requires one but never checks it against any CA.
   */
  clientCertificate?: 'sent' | 'empty';
  /** 0-RTT packets that ngtcp2 received and decrypted for this connection. */
  earlyDataPackets: number;
  /** Requests, with whether any of their stream's data arrived in 0-RTT packets. */
  requests: Array<{ streamId: number; path?: string; earlyData: boolean }>;
  closesReceived: ConnectionCloseSeen[];
}

const hexdumpLine = /^[0-9a-f]{8}  /;
const hexdumpEnd = /^[0-9a-f]{8}$/;
const logLine = /^I(\d{8}) 0x([0-9a-f]+) (\w+) (.*)$/;
const cryptoHeader = /^Ordered CRYPTO data in (Initial|Handshake|Application) crypto level$/;
const closeFrame =
  /^frm rx \d+ (\w+) CONNECTION_CLOSE\((0x1[cd])\) error_code=([A-Za-z_()]*)\((0x[0-9a-f]+)\) frame_type=\S+ reason_len=\d+ reason=\[(.*)\]$/;

/** True for a line of the programs' hexdumps (bytes of CRYPTO or STREAM data, Retry tokens). */
export function isHexdumpLine(line: string): boolean {
  return hexdumpLine.test(line) || hexdumpEnd.test(line);
}

/** The bytes of one hexdump line: columns 10 to 59 hold up to 16 hex pairs. */
function hexdumpBytes(line: string): number[] {
  if (!hexdumpLine.test(line)) return [];
  return (line.slice(10, 59).match(/[0-9a-f]{2}/g) ?? []).map((pair) => parseInt(pair, 16));
}

/**
 * Follows the `Ordered CRYPTO data in <level> crypto level` sections of the programs' output,
 * handing each hexdump line's bytes to `onBytes` with its level.
 */
class CryptoSections {
  #level: string | undefined;

  /** True when the line is part of a CRYPTO section or any other hexdump: nothing else to read in it. */
  consume(line: string, onBytes: (level: string, bytes: number[]) => void): boolean {
    if (this.#level !== undefined) {
      if (hexdumpLine.test(line)) {
        onBytes(this.#level, hexdumpBytes(line));
        return true;
      }
      if (hexdumpEnd.test(line)) return true;
      this.#level = undefined;
    }
    const crypto = cryptoHeader.exec(line);
    if (crypto !== null) {
      this.#level = crypto[1]!;
      return true;
    }
    return isHexdumpLine(line);
  }
}

/** Splits TLS handshake messages off a buffer that grows with each CRYPTO frame of one level. */
class HandshakeReader {
  #buffer: number[] = [];
  constructor(private readonly onMessage: (type: number, body: number[]) => void) {}

  push(bytes: number[]): void {
    this.#buffer.push(...bytes);
    for (;;) {
      if (this.#buffer.length < 4) return;
      const length = (this.#buffer[1]! << 16) | (this.#buffer[2]! << 8) | this.#buffer[3]!;
      if (this.#buffer.length < 4 + length) return;
      const type = this.#buffer[0]!;
      const body = this.#buffer.slice(4, 4 + length);
      this.#buffer = this.#buffer.slice(4 + length);
      this.onMessage(type, body);
    }
  }
}

/** Extension code points in a list that starts with its 2-byte length at `offset`; undefined if malformed. */
function extensionTypes(body: number[], offset: number): number[] | undefined {
  if (offset + 2 > body.length) return undefined;
  const end = offset + 2 + ((body[offset]! << 8) | body[offset + 1]!);
  if (end > body.length) return undefined;
  const types: number[] = [];
  for (let at = offset + 2; at + 4 <= end; ) {
    types.push((body[at]! << 8) | body[at + 1]!);
    at += 4 + ((body[at + 2]! << 8) | body[at + 3]!);
  }
  return types;
}

/** ServerHello (RFC 8446 section 4.1.3): version, random, session ID, cipher suite, compression, extensions. */
function serverHelloExtensions(body: number[]): number[] | undefined {
  let at = 2 + 32;
  if (at >= body.length) return undefined;
  at += 1 + body[at]!;
  at += 2 + 1;
  return extensionTypes(body, at);
}

/** ClientHello (RFC 8446 section 4.1.2): version, random, session ID, cipher suites, compression methods, extensions. */
function clientHelloExtensions(body: number[]): number[] | undefined {
  let at = 2 + 32;
  if (at >= body.length) return undefined;
  at += 1 + body[at]!;
  if (at + 2 > body.length) return undefined;
  at += 2 + ((body[at]! << 8) | body[at + 1]!);
  if (at >= body.length) return undefined;
  at += 1 + body[at]!;
  return extensionTypes(body, at);
}

/** Certificate (RFC 8446 section 4.4.2): whether its certificate_list holds at least one entry. */
function certificateListNonEmpty(body: number[]): boolean {
  if (body.length < 1) return false;
  const at = 1 + body[0]!;
  if (at + 3 > body.length) return false;
  return ((body[at]! << 16) | (body[at + 1]! << 8) | body[at + 2]!) > 0;
}

function parseClose(rest: string): ConnectionCloseSeen | undefined {
  const match = closeFrame.exec(rest);
  if (match === null) return undefined;
  const name = match[3]!.replace(/\(.*$/, '');
  return {
    frameType: match[2] === '0x1c' ? 0x1c : 0x1d,
    errorCode: parseInt(match[4]!, 16),
    ...(name === '' ? {} : { errorName: name }),
    reason: match[5]!,
    packetType: match[1]!,
  };
}

/** Local errors that are the ordinary aftermath of a close, not a failure. */
const benignLocalErrors = /: ERR_(DRAINING|CLOSING)$/;

/** Reads gtlsclient's stderr, one line at a time, for one connection (one run of the program). */
export class ClientOutputReader {
  readonly connection: ClientConnectionSeen = {
    handshakeCompleted: false,
    handshakeConfirmed: false,
    retryReceived: false,
    earlyDataSent: false,
    earlyDataRejected: false,
    keyUpdatesInitiated: 0,
    keyPhaseOneReceived: false,
    requests: [],
    closesReceived: [],
    localErrors: [],
    timedOut: false,
  };
  readonly #crypto = new CryptoSections();
  #readers = new Map<string, HandshakeReader>();
  /** The request whose header lines are being printed ("[:path: /x]" follows "submit request headers"). */
  #submitting: ClientRequestSeen | undefined;

  line(line: string): void {
    const c = this.connection;
    if (this.#crypto.consume(line, (level, bytes) => this.#reader(level).push(bytes))) return;

    const log = logLine.exec(line);
    if (log !== null) {
      c.id ??= log[2]!;
      const rest = `${log[3]} ${log[4]}`;
      if (/^pkt rx .* type=Retry\b/.test(rest)) c.retryReceived = true;
      else if (/^pkt tx .* type=0RTT\b/.test(rest)) c.earlyDataSent = true;
      else if (/^pkt rx .* type=1RTT k=1\b/.test(rest)) c.keyPhaseOneReceived = true;
      const close = parseClose(rest);
      if (close !== undefined) c.closesReceived.push(close);
      return;
    }

    if (line === 'QUIC handshake has completed') c.handshakeCompleted = true;
    else if (line === 'QUIC handshake has been confirmed') c.handshakeConfirmed = true;
    else if (line === 'Early data was rejected by server') {
      c.earlyDataRejected = true;
      // The client drops its 0-RTT requests and submits them again in 1-RTT.
      c.requests = [];
    } else if (line === 'Initiate key update') c.keyUpdatesInitiated++;
    else if (line.startsWith('Negotiated cipher suite is ')) c.cipher = line.slice('Negotiated cipher suite is '.length);
    else if (line.startsWith('Negotiated ALPN is ')) c.alpn = line.slice('Negotiated ALPN is '.length);
    else if (/^(ngtcp2|nghttp3)_\w+: /.test(line)) {
      if (/: ERR_(IDLE_CLOSE|HANDSHAKE_TIMEOUT)$/.test(line)) c.timedOut = true;
      if (!benignLocalErrors.test(line)) c.localErrors.push(line);
    } else {
      this.#http(line);
    }
  }

  #http(line: string): void {
    const c = this.connection;
    const submit = /^http: stream 0x([0-9a-f]+) submit request headers$/.exec(line);
    if (submit !== null) {
      this.#submitting = { streamId: parseInt(submit[1]!, 16), path: '' };
      c.requests.push(this.#submitting);
      return;
    }
    const path = /^\[:path: (.*)\]$/.exec(line);
    if (path !== null && this.#submitting !== undefined) {
      this.#submitting.path = path[1]!;
      this.#submitting = undefined;
      return;
    }
    const status = /^http: stream 0x([0-9a-f]+) \[:status: (\d+)\]$/.exec(line);
    if (status !== null) {
      const request = this.#request(parseInt(status[1]!, 16));
      if (request !== undefined) request.status = Number(status[2]);
      return;
    }
    const closed = /^HTTP stream (\d+) closed with error code (\d+)$/.exec(line);
    if (closed !== null) {
      const request = this.#request(Number(closed[1]));
      if (request !== undefined) request.closeCode = Number(closed[2]);
    }
  }

  #request(streamId: number): ClientRequestSeen | undefined {
    for (let i = this.connection.requests.length - 1; i >= 0; i--) {
      if (this.connection.requests[i]!.streamId === streamId) return this.connection.requests[i];
    }
    return undefined;
  }

  #reader(level: string): HandshakeReader {
    let reader = this.#readers.get(level);
    if (reader === undefined) {
      reader = new HandshakeReader((type, body) => this.#message(type, body));
      this.#readers.set(level, reader);
    }
    return reader;
  }

  #message(type: number, body: number[]): void {
    const seen = (this.connection.handshakeMessages ??= {});
    if (type === 2) {
      const extensions = serverHelloExtensions(body);
      if (extensions !== undefined) seen.serverHelloPsk = extensions.includes(extPreSharedKey);
    } else if (type === 8) {
      const extensions = extensionTypes(body, 0);
      if (extensions !== undefined) seen.encryptedExtensionsEarlyData = extensions.includes(extEarlyData);
    } else if (type === 11) {
      seen.serverCertificate = certificateListNonEmpty(body);
    } else if (type === 13) {
      seen.certificateRequest = true;
    }
  }
}

/**
 * Why a client run failed, or undefined when every request got a response and its stream closed
 * with H3_NO_ERROR on a connection that the server did not close with an error.
 */
export function clientFailure(connection: ClientConnectionSeen, requestedPaths: readonly string[]): string | undefined {
  const close = connection.closesReceived.find((c) => !isCleanClose(c));
  if (close !== undefined) return `the server closed the connection with ${describeClose(close)}`;
  if (connection.timedOut) return `the connection timed out (${connection.localErrors.join('; ')})`;
  if (!connection.handshakeCompleted) {
    return `the handshake did not complete${connection.localErrors.length > 0 ? ` (${connection.localErrors.join('; ')})` : ''}`;
  }
  if (connection.localErrors.length > 0) return `the client reported ${connection.localErrors.join('; ')}`;
  const unfinished = requestedPaths.filter(
    (path) => !connection.requests.some((r) => r.path === path && r.status !== undefined && r.closeCode === h3NoError),
  );
  if (unfinished.length > 0) {
    const shown = unfinished.slice(0, 5).map((path) => {
      const request = connection.requests.find((r) => r.path === path);
      if (request === undefined) return `${path}: never sent`;
      if (request.status === undefined) return `${path}: no response header`;
      return `${path}: status ${request.status}, stream closed with ${request.closeCode === undefined ? 'nothing yet' : `code ${request.closeCode}`}`;
    });
    return `${unfinished.length} of ${requestedPaths.length} requests did not finish (${shown.join('; ')}${unfinished.length > 5 ? '; …' : ''})`;
  }
  const bad = connection.requests.find((r) => r.status !== undefined && (r.status < 200 || r.status > 299));
  if (bad !== undefined) return `${bad.path} answered status ${bad.status}`;
  return undefined;
}

/** Reads gtlsserver's stderr, one line at a time, for all its connections. */
export class ServerOutputReader {
  readonly connections: ServerConnectionSeen[] = [];
  #byId = new Map<string, ServerConnectionSeen>();
  /** The connection whose packet is being processed: the last one named by a log line. */
  #current: ServerConnectionSeen | undefined;
  #tokenValidated = false;
  readonly #crypto = new CryptoSections();
  #readers = new Map<string, HandshakeReader>();
  /** Streams with data received in 0-RTT packets, per connection. */
  #earlyStreams = new Map<ServerConnectionSeen, Set<number>>();

  line(line: string): void {
    if (this.#crypto.consume(line, (level, bytes) => this.#current !== undefined && this.#reader(this.#current, level).push(bytes))) return;

    const log = logLine.exec(line);
    if (log !== null) {
      const connection = this.#connection(log[2]!);
      const rest = `${log[3]} ${log[4]}`;
      if (/^pkt rx .* type=0RTT\b/.test(rest)) connection.earlyDataPackets++;
      const early = /^frm rx \d+ 0RTT STREAM\(0x[0-9a-f]+\) id=0x([0-9a-f]+) /.exec(rest);
      if (early !== null) this.#earlyStreams.get(connection)!.add(parseInt(early[1]!, 16));
      const close = parseClose(rest);
      if (close !== undefined) connection.closesReceived.push(close);
      return;
    }
    if (line === 'Token was successfully validated') {
      this.#tokenValidated = true;
      return;
    }
    const current = this.#current;
    if (current === undefined) return;
    if (line === 'QUIC handshake has completed') current.handshakeCompleted = true;
    else if (line.startsWith('Negotiated cipher suite is ')) current.cipher = line.slice('Negotiated cipher suite is '.length);
    else {
      const started = /^http: stream 0x([0-9a-f]+) request headers started$/.exec(line);
      if (started !== null) {
        const streamId = parseInt(started[1]!, 16);
        current.requests.push({ streamId, earlyData: this.#earlyStreams.get(current)!.has(streamId) });
        return;
      }
      const path = /^http: stream 0x([0-9a-f]+) \[:path: (.*)\]$/.exec(line);
      if (path !== null) {
        const streamId = parseInt(path[1]!, 16);
        const request = [...current.requests].reverse().find((r) => r.streamId === streamId);
        if (request !== undefined) request.path = path[2]!;
      }
    }
  }

  #connection(id: string): ServerConnectionSeen {
    let connection = this.#byId.get(id);
    if (connection === undefined) {
      connection = {
        id,
        addressValidatedByRetry: this.#tokenValidated,
        handshakeCompleted: false,
        earlyDataPackets: 0,
        requests: [],
        closesReceived: [],
      };
      this.#tokenValidated = false;
      this.#byId.set(id, connection);
      this.#earlyStreams.set(connection, new Set());
      this.connections.push(connection);
    }
    this.#current = connection;
    return connection;
  }

  #reader(connection: ServerConnectionSeen, level: string): HandshakeReader {
    const key = `${connection.id}/${level}`;
    let reader = this.#readers.get(key);
    if (reader === undefined) {
      reader = new HandshakeReader((type, body) => {
        if (type === 1) {
          const extensions = clientHelloExtensions(body);
          if (extensions !== undefined) {
            connection.clientHello = { pskOffered: extensions.includes(extPreSharedKey), earlyDataOffered: extensions.includes(extEarlyData) };
          }
        } else if (type === 11) {
          connection.clientCertificate = certificateListNonEmpty(body) ? 'sent' : 'empty';
        }
      });
      this.#readers.set(key, reader);
    }
    return reader;
  }
}

/**
 * Keeps the first `headBytes` and the last `tailBytes` of a stream of lines (hexdumps left out), and
 * says how much was left out in between: a program's output stays readable and bounded however long it runs.
 */
export class BoundedLog {
  #head: string[] = [];
  #headBytes = 0;
  #tail: string[] = [];
  #tailBytes = 0;
  #elidedLines = 0;
  #hexdumpLines = 0;

  constructor(
    private readonly headBytes = 32 * 1024,
    private readonly tailBytes = 96 * 1024,
  ) {}

  line(line: string): void {
    if (isHexdumpLine(line)) {
      this.#hexdumpLines++;
      return;
    }
    if (this.#headBytes + line.length + 1 <= this.headBytes && this.#tail.length === 0) {
      this.#head.push(line);
      this.#headBytes += line.length + 1;
      return;
    }
    this.#tail.push(line);
    this.#tailBytes += line.length + 1;
    while (this.#tailBytes > this.tailBytes && this.#tail.length > 1) {
      this.#tailBytes -= this.#tail.shift()!.length + 1;
      this.#elidedLines++;
    }
  }

  text(): string {
    const parts = [...this.#head];
    if (this.#elidedLines > 0) parts.push(`[… ${this.#elidedLines} lines left out …]`);
    parts.push(...this.#tail);
    if (this.#hexdumpLines > 0) parts.push(`[${this.#hexdumpLines} hexdump lines left out]`);
    return parts.join('\n');
  }
}
