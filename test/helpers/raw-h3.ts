/**
 * A hand-written HTTP/3 client over a real QUIC connection: it sends header sections exactly as
 * given (any :path, :scheme, :method), which `Http3Connection.fetch` cannot, since it builds them
 * from a web Request whose URL parser normalises the path.
 */
import { createQuicConfig, QuicStreamResetError, type Field, type H3Stream, type H3Transport, type QuicConnection, type QuicEndpoint } from '../../src/transport/index.js';
import { decodeFieldSection, encodeFieldSection } from '../../src/transport/h3/qpack/field-section.js';
import { encodeFrame, encodeSettingsFrame, encodeStreamType, frameType, streamType } from '../../src/transport/h3/frames.js';
import { FrameReader } from '../../src/transport/h3/frame-reader.js';
import { h3TransportFor } from '../../src/transport/h3/transport.js';
import type { IssuedCertificate } from '../../src/zero-rtt/index.js';

export interface RawExchange {
  /** The final response status, if a response header section arrived. */
  status?: number;
  body: string;
  /** The code of the server's RESET_STREAM, if it reset the request. */
  resetCode?: number;
}

export interface RawH3Client {
  readonly transport: H3Transport;
  /** Sends one request header section (and FIN) and reads the whole answer. */
  exchange(fields: Field[], body?: Uint8Array): Promise<RawExchange>;
  /** Opens a request stream and writes `bytes` without FIN. */
  openPartial(bytes: Uint8Array): Promise<H3Stream>;
}

/** A raw client on a new connection from `endpoint` to a worker on loopback, authenticated with `certificate`. */
export async function connectRawH3Client(
  endpoint: QuicEndpoint,
  worker: { port: number; serverName: string; caPem: string; certificate: IssuedCertificate },
): Promise<RawH3Client> {
  const quic = endpoint.connect({
    host: '127.0.0.1',
    port: worker.port,
    serverName: worker.serverName,
    config: createQuicConfig({ role: 'client', caPem: worker.caPem, certificate: worker.certificate }),
  });
  await quic.handshake;
  return rawH3Client(quic);
}

export async function rawH3Client(quic: QuicConnection): Promise<RawH3Client> {
  const transport = h3TransportFor(quic);
  // The server's control and QPACK streams are not read: nothing here depends on them.
  transport.setStreamHandler(() => undefined);
  const control = await transport.openUnidirectionalStream();
  await control.write(Buffer.concat([encodeStreamType(streamType.control), encodeSettingsFrame(new Map())]));
  return {
    transport,
    async exchange(fields, body) {
      const stream = await transport.openBidirectionalStream();
      const head = encodeFrame(frameType.headers, encodeFieldSection(fields));
      await stream.end(body === undefined ? head : Buffer.concat([head, encodeFrame(frameType.data, body)]));
      return readAnswer(stream);
    },
    async openPartial(bytes) {
      const stream = await transport.openBidirectionalStream();
      await stream.write(bytes);
      return stream;
    },
  };
}

export async function readAnswer(stream: H3Stream): Promise<RawExchange> {
  const reader = new FrameReader({ maxFramePayload: 1 << 20 });
  const result: RawExchange = { body: '' };
  try {
    for (;;) {
      let event = reader.next();
      while (event !== undefined) {
        if (event.kind === 'data') result.body += Buffer.from(event.chunk).toString();
        else if (event.type === frameType.headers && result.status === undefined) {
          const fields = decodeFieldSection(event.payload, { maxFieldSectionSize: 1 << 20 });
          if (Array.isArray(fields)) {
            const status = Number(fields.find(([name]) => name === ':status')?.[1]);
            if (status >= 200) result.status = status;
          }
        }
        event = reader.next();
      }
      const chunk = await stream.read();
      if (chunk === null) return result;
      reader.push(chunk);
    }
  } catch (error) {
    if (error instanceof QuicStreamResetError) return { ...result, resetCode: error.errorCode };
    throw error;
  }
}
