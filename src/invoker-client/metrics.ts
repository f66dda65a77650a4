/** Request latency buckets, in seconds (upper bounds), from 0.5 ms to 10 s. */
export const latencyBuckets: readonly number[] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The invoker's counters and latency histogram at one moment. */
export interface InvokerMetricsSnapshot {
  requests: number;
  responses: number;
  errors: number;
  retries: number;
  handshakes: number;
  /** Connections opened with a session (0-RTT attempted), and how the server answered. */
  zeroRttAttempted: number;
  zeroRttAccepted: number;
  zeroRttRejected: number;
  /** Requests that left in 0-RTT early data. */
  earlyDataRequests: number;
  reusedConnections: number;
  /** Callers that joined a dial already under way instead of starting their own. */
  coalescedDials: number;
  ticketStoreFailures: number;
  /** Connections closed because the worker stopped answering PINGs (peer-watch.ts). */
  deadPeers: number;
  openConnections: number;
  latency: { buckets: ReadonlyArray<{ le: number; count: number }>; count: number; sumSeconds: number };
}

/** Counters and a latency histogram for the invoker, exportable as Prometheus text. */
export class InvokerMetrics {
  requests = 0;
  responses = 0;
  errors = 0;
  retries = 0;
  handshakes = 0;
  zeroRttAttempted = 0;
  zeroRttAccepted = 0;
  zeroRttRejected = 0;
  earlyDataRequests = 0;
  reusedConnections = 0;
  coalescedDials = 0;
  ticketStoreFailures = 0;
  deadPeers = 0;
  readonly #bucketCounts = new Array<number>(latencyBuckets.length).fill(0);
  #latencyCount = 0;
  #latencySum = 0;

  observeLatency(seconds: number): void {
    this.#latencyCount++;
    this.#latencySum += seconds;
    for (let i = 0; i < latencyBuckets.length; i++) {
      if (seconds <= (latencyBuckets[i] as number)) (this.#bucketCounts[i] as number)++;
    }
  }

  snapshot(openConnections: number): InvokerMetricsSnapshot {
    return {
      requests: this.requests,
      responses: this.responses,
      errors: this.errors,
      retries: this.retries,
      handshakes: this.handshakes,
      zeroRttAttempted: this.zeroRttAttempted,
      zeroRttAccepted: this.zeroRttAccepted,
      zeroRttRejected: this.zeroRttRejected,
      earlyDataRequests: this.earlyDataRequests,
      reusedConnections: this.reusedConnections,
      coalescedDials: this.coalescedDials,
      ticketStoreFailures: this.ticketStoreFailures,
      deadPeers: this.deadPeers,
      openConnections,
      latency: {
        buckets: latencyBuckets.map((le, i) => ({ le, count: this.#bucketCounts[i] as number })),
        count: this.#latencyCount,
        sumSeconds: this.#latencySum,
      },
    };
  }
}

/** Prometheus text exposition (version 0.0.4) of a snapshot. */
export function prometheusText(snapshot: InvokerMetricsSnapshot, prefix = 'qfaas_invoker'): string {
  const counters: Array<[string, number, string]> = [
    ['requests_total', snapshot.requests, 'Requests started.'],
    ['responses_total', snapshot.responses, 'Responses received.'],
    ['errors_total', snapshot.errors, 'Requests that failed.'],
    ['retries_total', snapshot.retries, 'Requests retried after 425 Too Early.'],
    ['handshakes_total', snapshot.handshakes, 'QUIC handshakes completed.'],
    ['zero_rtt_attempted_total', snapshot.zeroRttAttempted, 'Connections opened with a session ticket.'],
    ['zero_rtt_accepted_total', snapshot.zeroRttAccepted, 'Connections whose 0-RTT the server accepted.'],
    ['zero_rtt_rejected_total', snapshot.zeroRttRejected, 'Connections whose 0-RTT the server rejected.'],
    ['early_data_requests_total', snapshot.earlyDataRequests, 'Requests sent in 0-RTT early data.'],
    ['reused_connections_total', snapshot.reusedConnections, 'Requests that reused a pooled connection.'],
    ['coalesced_dials_total', snapshot.coalescedDials, 'Requests that joined a dial under way.'],
    ['ticket_store_failures_total', snapshot.ticketStoreFailures, 'Ticket store operations that failed or timed out.'],
    ['dead_peers_total', snapshot.deadPeers, 'Connections closed because the worker stopped answering.'],
  ];
  const lines: string[] = [];
  for (const [name, value, help] of counters) {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} counter`, `${prefix}_${name} ${value}`);
  }
  lines.push(
    `# HELP ${prefix}_open_connections Pooled connections.`,
    `# TYPE ${prefix}_open_connections gauge`,
    `${prefix}_open_connections ${snapshot.openConnections}`,
    `# HELP ${prefix}_request_duration_seconds Time to the response header section.`,
    `# TYPE ${prefix}_request_duration_seconds histogram`,
  );
  for (const bucket of snapshot.latency.buckets) lines.push(`${prefix}_request_duration_seconds_bucket{le="${bucket.le}"} ${bucket.count}`);
  lines.push(
    `${prefix}_request_duration_seconds_bucket{le="+Inf"} ${snapshot.latency.count}`,
    `${prefix}_request_duration_seconds_sum ${snapshot.latency.sumSeconds}`,
    `${prefix}_request_duration_seconds_count ${snapshot.latency.count}`,
  );
  return `${lines.join('\n')}\n`;
}
