/**
 * What a web `Response` from `Http3Connection.fetch` or `InvokerClient.fetch` does not carry
 * itself: one side channel for both, so "did this go in 0-RTT?" has one answer (`earlyData`).
 */

/** How the invoker got a response: the connection it used and the attempts it took. */
export interface TransportInfo {
  /** The request left in 0-RTT, before the handshake (whether or not the worker accepted it). */
  earlyDataAttempted: boolean;
  /** The connection resumed a TLS session. */
  resumed: boolean;
  /** The request used a connection that was already open. */
  reusedConnection: boolean;
  /** Handshake time of the connection the request opened; undefined when it reused one. */
  handshakeMs: number | undefined;
  /** How many attempts the request took (2 after a retry on 425 Too Early). */
  attempts: number;
}

/** What the client learns about a web `Response` besides the response itself. */
export interface ResponseInfo {
  /** QUIC stream ID of the exchange. */
  streamId: number;
  /** The request arrived at the server as 0-RTT early data: it left before the handshake and was accepted. */
  earlyData: boolean;
  /** Trailers, once the body has been read to its end (undefined when there were none). */
  trailers: Promise<Headers | undefined>;
  /** Set on responses from `InvokerClient.fetch`: how the invoker got it. @default undefined */
  transport?: TransportInfo;
}

const infoByResponse = new WeakMap<Response, ResponseInfo>();

/** The facts of a response from `Http3Connection.fetch` or `InvokerClient.fetch`; undefined for any other. */
export function getResponseInfo(response: Response): ResponseInfo | undefined {
  return infoByResponse.get(response);
}

/** Records a response's facts (the fetch adapters call it). */
export function setResponseInfo(response: Response, info: ResponseInfo): void {
  infoByResponse.set(response, info);
}
