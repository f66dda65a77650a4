/**
 * Which test files `npm run test:unit` leaves out, and why. `npm test` runs every file; the unit
 * scope is for contributors: it needs nothing beyond `npm install` and finishes in under a minute.
 * test/scope.test.ts checks that every file needing the system is listed here.
 */

/** Files that need something `npm install` does not bring: root (namespaces, TUN), gcc, Go, Redis, ngtcp2's programs. */
export const systemTestFiles: readonly string[] = [
  // root, TUN devices and gcc: the benchmarks' delay link and the mini-platform across it
  'test/bench/delay-link.test.ts',
  'test/mini-platform/network.test.ts',
  // Go and Debian's quic-go sources
  'test/bench/quic-go-rig.test.ts',
  'test/interop/quic-go.test.ts',
  // Debian's ngtcp2-client and ngtcp2-server (gtlsclient, gtlsserver)
  'test/interop/ngtcp2-peer.test.ts',
  // the npm registry (or npm's cache): the packed package installed into a fresh app
  'test/package/packed.test.ts',
  // the batched UDP addon built by `npm run build:native` (gcc, make, python3), unshare + tc
  // (iproute2) for its backpressure test, and root (ip netns, veth) for its link-local tests
  'test/transport/batched-udp.test.ts',
  // redis-server
  'test/handler-server/watchdog-redis.test.ts',
  'test/replay-guard/attack.test.ts',
  'test/replay-guard/redis-idempotency-store.test.ts',
  'test/replay-guard/redis-strike-register.test.ts',
  'test/zero-rtt/redis-ticket-store.test.ts',
];

/** Files that need only `npm install` but run for seconds each (processes, loss, timeouts, soak). */
export const longTestFiles: readonly string[] = [
  'test/cli/provision.test.ts',
  'test/h3/over-quic.test.ts',
  'test/handler-server/flood.test.ts',
  'test/handler-server/invoker-and-handler.test.ts',
  'test/handler-server/soak.test.ts',
  'test/handler-server/watchdog.test.ts',
  'test/invoker-client/dead-peer.test.ts',
  'test/invoker-client/early-data-loss.test.ts',
  'test/mini-platform/connections.test.ts',
  'test/mini-platform/mini-platform.test.ts',
  'test/replay-guard/restart.test.ts',
  'test/transport/amplification.test.ts',
  'test/transport/half-open.test.ts',
  'test/transport/loss.test.ts',
];

/** What marks a file as needing the system: the helpers and checks those files use. */
export const systemMarkers: readonly RegExp[] = [/\bstartRedis\(/, /\bisRoot\(/, /quic-go-(peer|rig)/, /bench\/link\//, /interop\/peers\/ngtcp2/, /\bloadBatchedUdp\(/];
