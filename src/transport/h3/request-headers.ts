import { unexpectedOnRequestStream } from './message-body.js';
import { connectionError, streamError } from './protocol-errors.js';
import type { FrameReader } from './frame-reader.js';
import { frameType } from './frames.js';
import type { H3Stream } from './transport.js';
import type { UnfinishedHeaderSections } from './unfinished-headers.js';

/**
 * Reads a request stream up to its header section and returns the payload of its HEADERS frame.
 * The section is tracked in `unfinished` from the stream's first byte until it is complete (or the
 * stream fails), so its deadline and the connection's byte cap apply to it; going over the cap is
 * H3_EXCESSIVE_LOAD on the connection (`onExceeded` is told first).
 */
export async function readRequestHeaders(
  stream: H3Stream,
  reader: FrameReader,
  unfinished: UnfinishedHeaderSections,
  onExceeded: () => void,
): Promise<Uint8Array> {
  unfinished.start(stream);
  try {
    for (;;) {
      const event = reader.next();
      if (event === undefined) {
        const chunk = await stream.read();
        if (chunk === null) {
          if (!reader.atFrameBoundary) throw connectionError('H3_FRAME_ERROR', `stream ${stream.id} ended inside a frame`);
          throw streamError('H3_REQUEST_INCOMPLETE', 'the request stream ended before its header section');
        }
        if (!unfinished.add(stream, chunk.length)) {
          onExceeded();
          throw connectionError('H3_EXCESSIVE_LOAD', "unfinished request header sections exceed the connection's cap");
        }
        reader.push(chunk);
        continue;
      }
      if (event.kind === 'data') throw connectionError('H3_FRAME_UNEXPECTED', 'DATA before the request header section');
      if (event.type === frameType.headers) return event.payload;
      throw unexpectedOnRequestStream(event.type);
    }
  } finally {
    unfinished.finish(stream);
  }
}
