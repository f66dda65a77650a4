export {
  createHandlerServer,
  ExecTimeoutError,
  type HandlerServer,
  type HandlerServerLimits,
  type HandlerServerMetrics,
  type HandlerServerOptions,
  type RequestHandler,
  type RequestInfo,
} from './handler-server.js';
export { checkRequestTarget, RequestTargetError, upstreamUrlFor } from './request-target.js';
export { UpstreamProxy } from './upstream-proxy.js';
export { startWatchdog, WatchdogStartError, type Watchdog } from './watchdog.js';
export { parseDuration, readWatchdogConfig, splitCommandLine, type WatchdogConfig } from './watchdog-config.js';
