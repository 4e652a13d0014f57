/**
 * Prometheus metrics (prom-client). One registry per gateway instance so tests can run several in a process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { packageVersion } from '../version.js';
import { BatchedCounter, BatchedHistogram, type CounterSlot, type HistogramSeries } from './batched-metrics.js';

/** The gateway's metrics, created once at start-up. */
export interface Metrics {
  registry: Registry;
  logins: Counter<'outcome' | 'provider'>;
  providerRequests: Counter<'operation' | 'outcome' | 'provider'>;
  tokenRefreshes: Counter<'outcome' | 'provider'>;
  backchannelLogouts: Counter<'outcome' | 'provider'>;
  /** Step-up logins (docs/step-up.md) by provider and result: started, completed, refused, other_user. */
  stepUps: Counter<'provider' | 'result'>;
  sessionStoreErrors: Counter<'operation'>;
  providerDuration: Histogram<'operation' | 'provider'>;
  /** 1 once a provider's metadata and keys are loaded, 0 until then: one series per provider. */
  providerReady: Gauge<'provider'>;
  /** Counts one session store operation's latency (batched: it is on every request with Redis). */
  recordStoreDuration(operation: string, seconds: number): void;
  /** Counts one answered request and its latency (the per-request path: batched-metrics.ts). */
  recordRequest(upstream: string, status: number, seconds: number): void;
  /** Counts one policy decision (batched). */
  recordDecision(upstream: string, reason: string): void;
}

/** Creates the registry with the conventional process and Node.js metrics and the gateway's own `authgate_` series. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  // No prefix: process and Node.js metrics keep the names every dashboard and alert knows (process_cpu_seconds_total, ...).
  collectDefaultMetrics({ register: registry });
  // Summed over workers it would read N: every worker runs the same build, so the first one's answer is it.
  new Gauge({
    name: 'authgate_build_info',
    help: 'Always 1; the gateway version and the Node.js version in the labels',
    labelNames: ['version', 'node'],
    aggregator: 'first',
    registers: [registry],
  }).set({ version: packageVersion(), node: process.version }, 1);
  const requests = new BatchedCounter({
    name: 'authgate_http_requests_total',
    help: 'Requests answered, by upstream (or "gateway") and status code',
    labelNames: ['upstream', 'status'] as const,
    registry,
  });
  const requestDuration = new BatchedHistogram(
    'authgate_http_request_duration_seconds',
    'Time from request to response, by upstream',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
  );
  const policyDecisions = new BatchedCounter({
    name: 'authgate_policy_decisions_total',
    help: 'Access decisions by upstream and reason',
    labelNames: ['upstream', 'reason'] as const,
    registry,
  });
  const storeDuration = new BatchedHistogram(
    'authgate_session_store_duration_seconds',
    'Time of session store operations (Redis), by operation',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    registry,
  );
  const storeSeries = new Map<string, HistogramSeries>();
  // Slots per upstream, then per status or reason: found with two Map lookups, no string built per request.
  // Label values come from configuration, status codes and a fixed set of reasons, so the maps stay small;
  // like prom-client's own series, a label set once seen is kept.
  const perUpstream = new Map<string, { latency: HistogramSeries; statuses: Map<number, CounterSlot>; reasons: Map<string, CounterSlot> }>();
  const slotsOf = (upstream: string) => {
    let entry = perUpstream.get(upstream);
    if (!entry) {
      entry = { latency: requestDuration.series({ upstream }), statuses: new Map(), reasons: new Map() };
      perUpstream.set(upstream, entry);
    }
    return entry;
  };

  return {
    registry,
    recordRequest(upstream, status, seconds) {
      const entry = slotsOf(upstream);
      let slot = entry.statuses.get(status);
      if (!slot) {
        slot = requests.slot({ upstream, status: String(status) });
        entry.statuses.set(status, slot);
      }
      slot.n += 1;
      requestDuration.observe(entry.latency, seconds);
    },
    recordDecision(upstream, reason) {
      const entry = slotsOf(upstream);
      let slot = entry.reasons.get(reason);
      if (!slot) {
        slot = policyDecisions.slot({ upstream, reason });
        entry.reasons.set(reason, slot);
      }
      slot.n += 1;
    },
    logins: new Counter({
      name: 'authgate_logins_total',
      help: 'Completed callbacks by outcome (success, provider_error, invalid_state, failed, unavailable, session_too_large, step_up_refused, step_up_other_user) and provider',
      labelNames: ['outcome', 'provider'],
      registers: [registry],
    }),
    providerRequests: new Counter({
      name: 'authgate_provider_requests_total',
      help: 'Requests to the identity provider by operation (discovery, code_grant, userinfo), outcome and provider',
      labelNames: ['operation', 'outcome', 'provider'],
      registers: [registry],
    }),
    providerReady: new Gauge({
      name: 'authgate_provider_ready',
      help: "1 once the provider's metadata and keys are loaded, 0 until then, by provider",
      labelNames: ['provider'],
      aggregator: 'min',
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'authgate_token_refreshes_total',
      help: 'Token refreshes by outcome (success, reused, invalid_grant, invalid_response, error) and provider',
      labelNames: ['outcome', 'provider'],
      registers: [registry],
    }),
    backchannelLogouts: new Counter({
      name: 'authgate_backchannel_logouts_total',
      help: 'Back-channel logout requests by outcome (accepted, invalid, replayed, unavailable) and provider (unknown when no provider issued the token)',
      labelNames: ['outcome', 'provider'],
      registers: [registry],
    }),
    stepUps: new Counter({
      name: 'authgate_step_ups_total',
      help: 'Step-up logins by provider and result (started; completed; refused: the answer did not meet the route; other_user: another user came back)',
      labelNames: ['provider', 'result'],
      registers: [registry],
    }),
    providerDuration: new Histogram({
      name: 'authgate_provider_request_duration_seconds',
      help: 'Time of requests to the identity provider, by operation (discovery, code_grant, refresh, userinfo, introspection) and provider',
      labelNames: ['operation', 'provider'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    recordStoreDuration(operation, seconds) {
      let series = storeSeries.get(operation);
      if (!series) storeSeries.set(operation, (series = storeDuration.series({ operation })));
      storeDuration.observe(series, seconds);
    },
    sessionStoreErrors: new Counter({
      name: 'authgate_session_store_errors_total',
      help: 'Session store operations that failed (the request got a 503)',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
