/**
 * Token refresh before the access token expires, without ever sending the provider the same refresh token
 * twice (providers that rotate refresh tokens revoke the whole grant on reuse):
 * - one refresh per session in flight in this process; concurrent requests wait for it;
 * - the store's lock (a Redis lock across replicas) with a re-read once it is taken;
 * - a short memory of rotations done here, for requests that still carry the old cookie after the new one
 *   was sent (the cookie store's answer to the race oauth2-proxy users hit, its issues #1006 and #1992).
 * A refused refresh (invalid_grant) ends the session; an unreachable provider keeps it and is retried after
 * a short backoff.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.js';
import type { Providers } from '../oidc/providers.js';
import type { RefreshLock, RefreshResult, SessionData } from './types.js';

/** How long a failed refresh is not retried for the same session, by default. */
const RETRY_AFTER_MS = 5_000;
/** How long a rotation is remembered for requests still carrying the previous refresh token. */
const ROTATION_MEMORY_MS = 10 * 60_000;

/** Refreshes sessions' tokens. */
export interface Refresher {
  /**
   * True when a refresh token exists and the access token expires within the skew. The skew is capped at
   * half the token's lifetime, so a provider issuing tokens shorter than the skew is not asked for a new
   * one on every request.
   */
  isDue(session: SessionData, now: number): boolean;
  /** Refreshes the session (single flight per session). */
  refresh(session: SessionData): Promise<RefreshResult>;
}

/** Creates the refresher for one gateway. */
export function createRefresher(deps: {
  /** The session's own provider refreshes its tokens. */
  providers: Providers;
  refreshLock: RefreshLock;
  metrics: Metrics;
  log: Logger;
  skewMs: number;
  retryAfterMs?: number;
  /** The clock the back-off is measured by (ms); Date.now by default. */
  now?: () => number;
}): Refresher {
  const { providers, refreshLock, metrics, log, skewMs } = deps;
  const clock = deps.now ?? Date.now;
  const retryAfterMs = deps.retryAfterMs ?? RETRY_AFTER_MS;
  const inFlight = new Map<string, Promise<RefreshResult>>();
  const rotations = new LRUCache<string, SessionData>({ max: 10_000, ttl: ROTATION_MEMORY_MS });
  // When each session's last refresh failed; judged by `now`, so the back-off follows an injected clock.
  const failedAt = new LRUCache<string, number>({ max: 10_000 });
  const backingOff = (id: string) => {
    const failed = failedAt.get(id);
    if (failed === undefined) return false;
    if (clock() - failed < retryAfterMs) return true;
    failedAt.delete(id);
    return false;
  };

  const count = (outcome: string, provider: string) => metrics.tokenRefreshes.inc({ outcome, provider });

  async function refreshUnderLock(session: SessionData): Promise<RefreshResult> {
    const result = await refreshLock.withRefreshLock(session, async (current) => {
      // Another request or replica refreshed while we waited for the lock: use its tokens.
      const provider = providers.ofSession(current);
      // A session whose provider is no longer configured cannot be refreshed (nor loaded: session/access.ts).
      if (!provider) return { kind: 'ended', reason: 'invalid_response' };
      if (current.gen > session.gen || current.tokens.refreshToken !== session.tokens.refreshToken) {
        count('reused', provider.id);
        return { kind: 'refreshed', session: current };
      }
      const outcome = await provider.refresh(current.tokens, current.identity);
      if (!outcome.ok) {
        count(outcome.reason === 'unavailable' ? 'error' : outcome.reason, provider.id);
        return outcome.reason === 'unavailable' ? { kind: 'failed' } : { kind: 'ended', reason: outcome.reason };
      }
      count('success', provider.id);
      return { kind: 'refreshed', session: { ...current, tokens: outcome.tokens, identity: outcome.identity, gen: current.gen + 1 } };
    });
    if (result.kind === 'refreshed' && session.tokens.refreshToken) {
      rotations.set(fingerprint(session.tokens.refreshToken), result.session);
    }
    if (result.kind === 'failed') {
      failedAt.set(session.id, clock());
      log.warn({ sub: session.identity.sub }, 'token refresh failed; keeping the session and retrying later');
    }
    return result;
  }

  return {
    isDue(session, now) {
      const { expiresAt, refreshToken, obtainedAt, jkt } = session.tokens;
      if (refreshToken === undefined) return false;
      // A DPoP-bound token whose key this gateway no longer holds (dpopKey replaced, its session key removed,
      // dpop turned off): refresh now; a confidential client's refresh token is not bound, so it re-binds.
      if (jkt !== undefined && providers.ofSession(session)?.dpopKeys?.byJkt.has(jkt) !== true) return true;
      if (expiresAt === undefined) return false;
      return expiresAt - Math.min(skewMs, (expiresAt - obtainedAt) / 2) <= now;
    },

    refresh(session) {
      const remembered = session.tokens.refreshToken ? rotations.get(fingerprint(session.tokens.refreshToken)) : undefined;
      if (remembered) {
        count('reused', remembered.provider ?? providers.primary.id);
        return Promise.resolve({ kind: 'refreshed', session: remembered });
      }
      const running = inFlight.get(session.id);
      if (running) return running;
      if (backingOff(session.id)) return Promise.resolve({ kind: 'failed' });
      const started = refreshUnderLock(session).finally(() => inFlight.delete(session.id));
      inFlight.set(session.id, started);
      return started;
    },
  };
}

/** Refresh tokens are remembered by digest, not by value. */
function fingerprint(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('base64url');
}
