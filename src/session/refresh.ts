/**
 * Token refresh before the access token expires, without ever sending the provider the same refresh token
 * twice (providers that rotate refresh tokens revoke the whole grant on reuse):
 * - one refresh per session in flight in this process; concurrent requests wait for it;
 * - the store's lock (a Redis lock across replicas) with a re-read once it is taken;
 * - a short memory of rotations done here, for requests that still carry the old cookie after the new one
 *   was sent (the cookie store's answer to the race oauth2-proxy users hit, its issues #1006 and #1992).
 * A refused refresh (invalid_grant) ends the session; an unreachable provider keeps it and is retried after
 * a short backoff. Upstreams' own refresh grants (`accessToken.resource`) use the same refresh token, so they
 * run under the same lock, one after the other with the session refresh (underTokenLock).
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
  /**
   * Runs `work` with the session's refresh token under the session's token lock: after any refresh or other
   * grant before it in this process, under the store's lock (Redis: across replicas), with the session as
   * stored. A session `work` returns with new tokens (gen + 1) is stored before the lock is released and
   * remembered for requests that still carry the old one. When another replica changed the
   * tokens while this one waited (`moved`): the caller looks again.
   */
  underTokenLock<T>(session: SessionData, work: (current: SessionData) => Promise<TokenWork<T>>): Promise<TokenLockResult<T>>;
}

/** What work under the token lock produced: a value, and the session with new tokens when they changed. */
export interface TokenWork<T> {
  value: T;
  /** The session with its rotated refresh token, gen + 1; undefined when nothing changed. */
  changed?: SessionData;
}

/** The outcome of underTokenLock. */
export type TokenLockResult<T> =
  | { kind: 'ran'; value: T; session: SessionData }
  /** Another replica changed the tokens while this one waited: `session` holds them, `work` did not run. */
  | { kind: 'moved'; session: SessionData }
  /** The session is gone (signed out meanwhile). */
  | { kind: 'ended' }
  /** Another replica held the lock too long. */
  | { kind: 'busy' };

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

  // One token operation per session at a time in this process (refreshes and upstreams' grants alike).
  const chains = new Map<string, Promise<unknown>>();
  function serialised<R>(id: string, run: () => Promise<R>): Promise<R> {
    const next = (chains.get(id) ?? Promise.resolve()).then(run, run);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    chains.set(id, tail);
    void tail.then(() => {
      if (chains.get(id) === tail) chains.delete(id);
    });
    return next;
  }
  /** The newest tokens this process knows for a session: a rotation done here since it was loaded. */
  function latest(session: SessionData): SessionData {
    let current = session;
    for (let hops = 0; hops < 8 && current.tokens.refreshToken; hops++) {
      const newer = rotations.get(fingerprint(current.tokens.refreshToken));
      if (!newer || newer.gen <= current.gen) break;
      current = newer;
    }
    return current;
  }

  /** Remembers `newer` for requests still carrying the refresh token of `session` (or of `loaded`, older still). */
  function remember(loaded: SessionData, session: SessionData, newer: SessionData): void {
    if (session.tokens.refreshToken) rotations.set(fingerprint(session.tokens.refreshToken), newer);
    if (loaded !== session && loaded.tokens.refreshToken) rotations.set(fingerprint(loaded.tokens.refreshToken), newer);
  }

  async function refreshUnderLock(loaded: SessionData): Promise<RefreshResult> {
    // An upstream's grant may have rotated the refresh token while this one waited its turn.
    let session = latest(loaded);
    let result = await refreshOnce(session);
    // Another replica's upstream grant (new refresh token, same access token) is what a waiter saw: go again.
    for (let again = 0; again < 2 && result.kind === 'refreshed' && result.session.tokens.accessToken === session.tokens.accessToken; again++) {
      session = result.session;
      result = await refreshOnce(session);
    }
    if (result.kind === 'refreshed' && result.session !== session) remember(loaded, session, result.session);
    if (result.kind === 'failed') {
      failedAt.set(session.id, clock());
      log.warn({ sub: session.identity.sub }, 'token refresh failed; keeping the session and retrying later');
    }
    return result;
  }

  function refreshOnce(session: SessionData): Promise<RefreshResult> {
    return refreshLock.withRefreshLock(session, async (current) => {
      // Another request or replica refreshed while we waited for the lock: use its tokens.
      const provider = providers.ofSession(current);
      // A session whose provider is no longer configured cannot be refreshed (nor loaded: session/access.ts).
      if (!provider) return { kind: 'ended', reason: 'invalid_response' };
      // An upstream's grant changes the refresh token, never the access token: only a refresh does that.
      if (current.tokens.accessToken !== session.tokens.accessToken) {
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
      // Only a refresh's rotation brings a new access token; an upstream's grant rotated the refresh token alone.
      if (remembered && remembered.tokens.accessToken !== session.tokens.accessToken) {
        count('reused', remembered.provider ?? providers.primary.id);
        return Promise.resolve({ kind: 'refreshed', session: remembered });
      }
      const running = inFlight.get(session.id);
      if (running) return running;
      if (backingOff(session.id)) return Promise.resolve({ kind: 'failed' });
      const started = serialised(session.id, () => refreshUnderLock(session)).finally(() => inFlight.delete(session.id));
      inFlight.set(session.id, started);
      return started;
    },

    underTokenLock<T>(loaded: SessionData, work: (current: SessionData) => Promise<TokenWork<T>>): Promise<TokenLockResult<T>> {
      return serialised(loaded.id, async (): Promise<TokenLockResult<T>> => {
        const session = latest(loaded);
        let done: TokenWork<T> | undefined;
        const result = await refreshLock.withRefreshLock(session, async (current) => {
          done = await work(current);
          return { kind: 'refreshed', session: done.changed ?? current };
        });
        if (result.kind === 'ended') return { kind: 'ended' };
        if (result.kind === 'failed') return { kind: 'busy' };
        if (!done) return { kind: 'moved', session: result.session };
        if (result.session.gen > session.gen) remember(loaded, session, result.session);
        return { kind: 'ran', value: done.value, session: result.session };
      });
    },
  };
}

/** Refresh tokens are remembered by digest, not by value. */
function fingerprint(refreshToken: string): string {
  return createHash('sha256').update(refreshToken).digest('base64url');
}
