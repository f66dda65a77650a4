export {
  createHandlerServer,
  ExecTimeoutError,
  type HandlerServer,
  type HandlerServerLimits,
  type HandlerServerMetrics,
  type HandlerServerOptions,
  type IncomingRequest,
  type LeanRequestHandler,
  type RequestHandler,
  type RequestInfo,
} from './handler-server.js';
export type { MessageBody } from '../transport/h3/message-body.js';
export type { OutgoingResponse } from '../transport/h3/server-request.js';
export type { IncomingHeaders, OutgoingHeaders } from '../transport/h3/header-fields.js';
export type { BodyInput } from '../transport/h3/message-writer.js';
export { checkRequestTarget, RequestTargetError, upstreamUrlFor } from './request-target.js';
export { UpstreamProxy, type ForwardedRequest } from './upstream-proxy.js';
export { startWatchdog, WatchdogStartError, type Watchdog } from './watchdog.js';
export { parseDuration, readWatchdogConfig, splitCommandLine, type WatchdogConfig } from './watchdog-config.js';
export { handlerServerDefaults } from './defaults.js';
