/**
 * Prometheus metrics (prom-client). One registry per gateway instance so tests can run several in a process.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The gateway's metrics, created once at start-up. */
export interface Metrics {
  registry: Registry;
  requests: Counter<'upstream' | 'status'>;
  requestDuration: Histogram<'upstream'>;
  logins: Counter<'outcome'>;
  policyDecisions: Counter<'upstream' | 'reason'>;
  providerRequests: Counter<'operation' | 'outcome'>;
  tokenRefreshes: Counter<'outcome'>;
  backchannelLogouts: Counter<'outcome'>;
  sessionStoreErrors: Counter<'operation'>;
  providerDuration: Histogram<'operation'>;
  sessionStoreDuration: Histogram<'operation'>;
  /** Counts one answered request (the per-request path: label lookups cached). */
  recordRequest(upstream: string, status: number, seconds: number): void;
  /** Counts one policy decision (cached label lookups). */
  recordDecision(upstream: string, reason: string): void;
}

/** Creates the registry with process metrics and the gateway's own series. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'authgate_' });
  const requests = new Counter({
    name: 'authgate_http_requests_total',
    help: 'Requests answered, by upstream (or "gateway") and status code',
    labelNames: ['upstream', 'status'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'authgate_http_request_duration_seconds',
    help: 'Time from request to response, by upstream',
    labelNames: ['upstream'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const policyDecisions = new Counter({
    name: 'authgate_policy_decisions_total',
    help: 'Access decisions by upstream and reason',
    labelNames: ['upstream', 'reason'] as const,
    registers: [registry],
  });
  // prom-client hashes label objects on every call; the children for each label set are kept instead.
  const requestChildren = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  const decisionChildren = new Map<string, { inc(): void }>();

  return {
    registry,
    requests,
    requestDuration,
    policyDecisions,
    recordRequest(upstream, status, seconds) {
      const key = `${upstream} ${status}`;
      let child = requestChildren.get(key);
      if (!child) {
        child = { count: requests.labels(upstream, String(status)), time: requestDuration.labels(upstream) };
        if (requestChildren.size < 10_000) requestChildren.set(key, child);
      }
      child.count.inc();
      child.time.observe(seconds);
    },
    recordDecision(upstream, reason) {
      const key = `${upstream} ${reason}`;
      let child = decisionChildren.get(key);
      if (!child) {
        child = policyDecisions.labels(upstream, reason);
        if (decisionChildren.size < 10_000) decisionChildren.set(key, child);
      }
      child.inc();
    },
    logins: new Counter({
      name: 'authgate_logins_total',
      help: 'Completed callbacks by outcome (success, provider_error, invalid_state, failed, unavailable)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    providerRequests: new Counter({
      name: 'authgate_provider_requests_total',
      help: 'Requests to the identity provider by operation (discovery, code_grant, userinfo) and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'authgate_token_refreshes_total',
      help: 'Token refreshes by outcome (success, reused, invalid_grant, invalid_response, error)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    backchannelLogouts: new Counter({
      name: 'authgate_backchannel_logouts_total',
      help: 'Back-channel logout requests by outcome (accepted, invalid, replayed, unavailable)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    providerDuration: new Histogram({
      name: 'authgate_provider_request_duration_seconds',
      help: 'Time of requests to the identity provider, by operation (discovery, code_grant, refresh, userinfo, introspection)',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    sessionStoreDuration: new Histogram({
      name: 'authgate_session_store_duration_seconds',
      help: 'Time of session store operations (Redis), by operation',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers: [registry],
    }),
    sessionStoreErrors: new Counter({
      name: 'authgate_session_store_errors_total',
      help: 'Session store operations that failed (the request got a 503)',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}
