/**
 * Upstreams' own tokens (`upstreams[].accessToken` resource, audience, scopes): after the guard allowed a
 * request, the session's token is swapped for the upstream's, from a cache per upstream and session, kept
 * until `session.refreshSkew` before it expires. A miss is fetched once however many requests wait for it:
 * one fetch per session and upstream in this process, under the session's token lock (the Redis lock across
 * replicas, which also serialises it with the session refresh: a refresh grant for a resource may rotate the
 * refresh token), looking in the store shared by replicas (Redis) first. Tokens are dropped when their
 * session ends; an exchanged token is fetched again once the session's access token changed.
 * A provider that refuses answers this upstream's request 502, one that cannot be reached 503; the session
 * stays and other upstreams keep working.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { ErrorCode, GatewayError } from '../errors.js';
import { sendGatewayError, sendUnauthenticated } from '../http/replies.js';
import type { UpstreamToken } from '../oidc/provider.js';
import { ProviderError } from '../oidc/provider-call.js';
import type { Providers } from '../oidc/providers.js';
import type { Refresher } from '../session/refresh.js';
import type { SessionData, SessionEnd, SessionEndings, StoredUpstreamToken, UpstreamTokenStore } from '../session/types.js';
import { upstreamDpopOf } from './upstream-dpop.js';
import type { CompiledUpstream, OwnTokenAsk } from './upstreams.js';

/** Sessions whose tokens one upstream keeps in this process. */
const CACHE_SIZE = 10_000;
/** How long a token whose lifetime the provider did not say is used. */
const UNKNOWN_LIFETIME_MS = 5 * 60_000;
/** How long a refusal is answered without asking the provider again (per session and upstream), and an outage. */
const REFUSED_BACKOFF_MS = 30_000;
const UNAVAILABLE_BACKOFF_MS = 5_000;
/** How often the work is tried again when another replica changed the session's tokens meanwhile. */
const MOVED_RETRIES = 3;

/** A cached token and the session it belongs to (to drop it when a provider logout names that session). */
interface Entry extends StoredUpstreamToken {
  sub: string;
  sid: string | undefined;
}

/** A fetch's result: the token, and the session with its rotated refresh token when the grant rotated it. */
interface Fetched {
  entry: Entry;
  changed: SessionData | undefined;
}

/** Attaches upstreams' own tokens to allowed requests. */
export interface UpstreamTokens {
  /**
   * For an allowed request on an upstream with `tokenAsk`: the principal's token becomes the upstream's.
   * Resolves undefined to go on, or the reply it sent (502, 503, 401).
   */
  attach(request: FastifyRequest, reply: FastifyReply, upstream: CompiledUpstream, ask: OwnTokenAsk): Promise<FastifyReply | undefined>;
}

/** Creates the service for one gateway. */
export function createUpstreamTokens(deps: {
  providers: Providers;
  refresher: Refresher;
  /** Shared by replicas (Redis); undefined: this process only. */
  shared: UpstreamTokenStore | undefined;
  endings: SessionEndings;
  skewMs: number;
  now: () => number;
  log: Logger;
}): UpstreamTokens {
  const { providers, refresher, shared, skewMs, now, log } = deps;
  const lanes = new Map<string, LRUCache<string, Entry>>();
  const pending = new Map<string, Promise<Fetched>>();
  // Sessions told once (in the log) that their login did not ask for an upstream's resource.
  const notGranted = new LRUCache<string, true>({ max: CACHE_SIZE });
  // Failed fetches, by session and upstream: answered as they failed until the back-off passes, so a refusal
  // is neither asked again on every request nor logged again (judged by `now`, like the session refresh's).
  const failed = new LRUCache<string, { face: GatewayError; until: number }>({ max: CACHE_SIZE });
  const laneOf = (name: string) => {
    let lane = lanes.get(name);
    if (!lane) lanes.set(name, (lane = new LRUCache<string, Entry>({ max: CACHE_SIZE })));
    return lane;
  };
  deps.endings.subscribe((end) => dropEnded(lanes, end));

  // A DPoP-bound upstream token is proven with its own ath (cached per entry object), not the session token's.
  const dpopOf = (entry: Entry, session: SessionData) => (entry.jkt === undefined ? undefined : upstreamDpopOf(providers.ofSession(session)?.dpopKeys, entry));

  const usable = (entry: StoredUpstreamToken | undefined, ask: OwnTokenAsk, session: SessionData): entry is StoredUpstreamToken =>
    entry !== undefined && entry.ask === ask.key && entry.refreshAt > now() && (entry.subject === undefined || entry.subject === session.tokens.accessToken);

  function entryOf(token: UpstreamToken, ask: OwnTokenAsk, session: SessionData, subject: string | undefined): Entry {
    const expiresAt = token.expiresAt ?? token.obtainedAt + UNKNOWN_LIFETIME_MS;
    // As the session refresh judges its own token: the skew, but at most half the token's life.
    const refreshAt = expiresAt - Math.min(skewMs, (expiresAt - token.obtainedAt) / 2);
    return { accessToken: token.accessToken, tokenType: token.tokenType, ...(token.jkt === undefined ? {} : { jkt: token.jkt }), refreshAt, ask: ask.key, ...(subject === undefined ? {} : { subject }), sub: session.identity.sub, sid: session.providerSid };
  }

  /** Runs under the session's token lock: the shared store first, then the grant; the result is shared before the lock is released. */
  async function fetchUnderLock(name: string, ask: OwnTokenAsk, loaded: SessionData): Promise<Fetched> {
    let session = loaded;
    for (let attempt = 0; ; attempt++) {
      const result = await refresher.underTokenLock(session, async (current) => {
        const found = await shared?.read(current.id, name);
        if (usable(found, ask, current)) return { value: { ...found, sub: current.identity.sub, sid: current.providerSid } };
        const provider = providers.ofSession(current);
        if (!provider) throw new ProviderError({ reason: 'invalid_grant', cause: new Error('the session’s provider is no longer configured') });
        let entry: Entry;
        let changed: SessionData | undefined;
        if (ask.audience !== undefined) {
          entry = entryOf(await provider.exchangeToken(current.tokens.accessToken, ask), ask, current, current.tokens.accessToken);
        } else {
          const granted = await provider.tokenForResource(current.tokens, current.identity, ask);
          entry = entryOf(granted.token, ask, current, undefined);
          const rotated = granted.rotatedRefreshToken;
          if (rotated !== undefined && rotated !== current.tokens.refreshToken) {
            changed = { ...current, tokens: { ...current.tokens, refreshToken: rotated }, gen: current.gen + 1 };
          }
        }
        await shared?.write(current.id, name, entry); // sealed, like the record that names the same user
        return { value: entry, changed };
      });
      if (result.kind === 'ran') return { entry: result.value, changed: result.session.gen > loaded.gen ? result.session : undefined };
      if (result.kind === 'ended') throw new SessionGone();
      if (result.kind === 'busy' || attempt >= MOVED_RETRIES) throw new GatewayError(ErrorCode.providerUnavailable, 503, BUSY);
      session = result.session;
    }
  }

  function fetchOnce(name: string, ask: OwnTokenAsk, session: SessionData): Promise<Fetched> {
    const key = `${session.id}\n${name}`;
    let running = pending.get(key);
    if (!running) {
      running = fetchUnderLock(name, ask, session)
        .then((fetched) => {
          laneOf(name).set(session.id, fetched.entry);
          return fetched;
        }, (err: unknown) => {
          logFailure(log, name, session, err);
          if (!(err instanceof SessionGone)) {
            const face = faceOf(err);
            failed.set(key, { face, until: now() + (face.status === 502 ? REFUSED_BACKOFF_MS : UNAVAILABLE_BACKOFF_MS) });
          }
          throw err;
        })
        .finally(() => pending.delete(key));
      pending.set(key, running);
    }
    return running;
  }

  return {
    async attach(request, reply, upstream, ask) {
      const principal = request.authgate.principal;
      const loaded = request.authgate.session;
      // A bearer caller (api.acceptBearerTokens) has no session to ask with: its own token goes on.
      if (!principal || principal.source !== 'session' || !loaded) return undefined;
      const session = loaded.session;
      const cached = laneOf(upstream.name).get(session.id);
      if (usable(cached, ask, session)) {
        request.authgate.principal = { ...principal, accessToken: cached.accessToken, dpop: dpopOf(cached, session) };
        return undefined;
      }
      // A resource the login did not ask for: the provider would refuse it, some only after using up the
      // refresh token (the session would then end at its next refresh). Signing in again asks for it.
      if (ask.resource !== undefined && ask.audience === undefined && session.resources?.includes(ask.resource) !== true) {
        if (!notGranted.has(`${session.id}\n${upstream.name}`)) {
          notGranted.set(`${session.id}\n${upstream.name}`, true);
          log.warn({ upstream: upstream.name, sub: session.identity.sub }, 'upstream token: the session’s login did not ask for this resource; sign in again');
        }
        return sendGatewayError(request, reply, NOT_GRANTED);
      }
      const failure = failed.size === 0 ? undefined : failed.get(`${session.id}\n${upstream.name}`);
      if (failure !== undefined && failure.until > now()) return sendGatewayError(request, reply, failure.face);
      try {
        const { entry, changed } = await fetchOnce(upstream.name, ask, session);
        if (changed) {
          // The grant rotated the refresh token: this answer carries the session on (cookie or record).
          request.authgate.session = { session: { ...changed, lastSeenAt: session.lastSeenAt }, needsRewrite: false };
          request.authgate.sessionWrite = 'save';
        }
        request.authgate.principal = { ...principal, accessToken: entry.accessToken, dpop: dpopOf(entry, session) };
        return undefined;
      } catch (err) {
        if (err instanceof SessionGone) {
          request.authgate.session = null;
          request.authgate.sessionWrite = 'destroy';
          return sendUnauthenticated(reply);
        }
        return sendGatewayError(request, reply, faceOf(err));
      }
    },
  };
}

const BUSY = 'The sign-in service did not answer in time for this application. You are still signed in: please try again in a moment.';
const UNAVAILABLE = new GatewayError(
  ErrorCode.providerUnavailable,
  503,
  'The sign-in service is not reachable to get a token for this application. You are still signed in: please try again in a moment.',
);
const REFUSED = new GatewayError(
  ErrorCode.upstreamUnavailable,
  502,
  'The sign-in service refused a token for this application. You are still signed in, and other applications keep working.',
);

const NOT_GRANTED = new GatewayError(
  ErrorCode.upstreamUnavailable,
  502,
  'This application needs a permission your sign-in did not ask for. Sign out and sign in again to use it; other applications keep working.',
);

/** The session was signed out while its token was being fetched. */
class SessionGone extends Error {}

/** 503 when the provider (or the store) cannot be reached, 502 when the provider refused or answered wrongly. */
function faceOf(err: unknown): GatewayError {
  if (err instanceof ProviderError) return err.reason === 'unavailable' ? UNAVAILABLE : REFUSED;
  if (err instanceof GatewayError) return err;
  return UNAVAILABLE;
}

/** One line per failed fetch (however many requests waited for it); the provider's words, never a token. */
function logFailure(log: Logger, upstream: string, session: SessionData, err: unknown): void {
  if (err instanceof SessionGone) return;
  if (err instanceof ProviderError) {
    const line = err.reason === 'unavailable' ? 'upstream token: the provider could not be reached' : 'upstream token refused by the provider';
    log.warn({ upstream, sub: session.identity.sub, reason: err.reason, oauthError: err.oauthError, providerStatus: err.providerStatus }, line);
  } else if (!(err instanceof GatewayError)) {
    log.error({ upstream, sub: session.identity.sub, err }, 'upstream token: unexpected failure');
  }
}

/** Drops the tokens of ended sessions from every upstream's cache. */
function dropEnded(lanes: Map<string, LRUCache<string, Entry>>, end: SessionEnd): void {
  if ('ids' in end) {
    for (const lane of lanes.values()) for (const id of end.ids) lane.delete(id);
    return;
  }
  if ('recheck' in end) {
    for (const lane of lanes.values()) lane.clear();
    return;
  }
  const { sub, sid } = end.logout;
  for (const lane of lanes.values()) {
    for (const [id, entry] of lane.entries()) {
      if ((sid !== undefined && entry.sid === sid) || (sub !== undefined && entry.sub === sub)) lane.delete(id);
    }
  }
}
