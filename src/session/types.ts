/**
 * What a session holds and the interfaces every session backend implements (one shared test suite runs
 * against each backend).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Identity, TokenSet } from '../identity.js';

/** One signed-in user's session. */
export interface SessionData {
  v: 1;
  /** Random per login (a new one at every login: no fixation). */
  id: string;
  identity: Identity;
  tokens: TokenSet;
  /** The provider's session id (`sid` claim), for back-channel logout. */
  providerSid?: string;
  /** Token generation: +1 at every refresh, so a store never overwrites newer tokens with older ones. */
  gen: number;
  createdAt: number;
  lastSeenAt: number;
  /**
   * The provider signed in with (`providers[].id`); absent for the primary (first) provider, so sessions
   * from before several providers are the primary's and its sessions stay as small as they were.
   */
  provider?: string;
  /** The browser's User-Agent at sign-in, cut short (for the admin API; never used to decide anything). */
  userAgent?: string;
  /** The client's address at sign-in (request.ip; for the admin API). */
  remoteAddr?: string;
  /** The login's `acr` (ID token), for step-up rules; absent when the provider did not say (or before step-up). */
  acr?: string;
  /** The login's `auth_time` (ID token, epoch seconds), for `allow.maxAge`; kept by refreshes, as the provider keeps it. */
  authAt?: number;
  /**
   * The RFC 8707 resources the login asked for (upstreams' `accessToken.resource`); a resource grant is asked
   * only for these, since a provider may use up the refresh token before it refuses another. Absent: none.
   */
  resources?: string[];
}

/** What a refresh attempt under the store's lock produced. */
export type RefreshResult =
  /** New tokens (or another replica's, found on re-read): continue with this session. */
  | { kind: 'refreshed'; session: SessionData }
  /** The provider refused (invalid_grant) or the identity changed: the session is over. */
  | { kind: 'ended'; reason: 'invalid_grant' | 'invalid_response' }
  /** The provider could not be reached: keep the session, try again later. */
  | { kind: 'failed' };

/** Which sessions a back-channel logout ends. */
export interface ProviderLogout {
  /** The provider that sent the logout (absent: the primary one); only its sessions end. */
  provider?: string;
  /** An admin's revocation rather than a provider's logout: the sessions of `sub` at every provider end. */
  anyProvider?: boolean;
  sid?: string;
  sub?: string;
  /** Sessions of `sub` created before this time (ms) end; later logins are not affected. */
  at: number;
}

/**
 * Loads, saves and ends sessions for requests; implementations own their cookies and storage. The other
 * duties of a store (the refresh lock, the replay guard, the provider-session index) are interfaces of
 * their own, so each caller depends on the one it uses and a new store implements them one by one.
 */
export interface SessionStore {
  /** The request's session, or null when signed out (missing, tampered, unknown key, timed out). */
  load(request: FastifyRequest): Promise<LoadedSession | null>;
  /** Stores a new session (a login) and sets the cookies that carry it. */
  create(request: FastifyRequest, reply: FastifyReply, session: SessionData): Promise<void>;
  /**
   * Writes back a session this request loaded (idle clock, re-sealing under the first key, new tokens).
   * Never brings back a session that was ended meanwhile, never replaces newer tokens (higher `gen`).
   */
  save(request: FastifyRequest, reply: FastifyReply, session: SessionData): Promise<void>;
  /** Ends the request's session and clears its cookies. */
  destroy(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** Resolves once the store can serve (connected), or after a bounded wait; called before listening. */
  start(): Promise<void>;
  /** True when the store can answer (always, for cookies). */
  ping(): Promise<boolean>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** One refresh per session at a time (across replicas where the store is shared). */
export interface RefreshLock {
  /**
   * Runs a refresh under the per-session lock. `refresh` receives the session as stored when the lock was
   * taken, so a refresh another replica finished meanwhile is seen and not repeated; a refreshed session is
   * stored before the lock is released.
   */
  withRefreshLock(session: SessionData, refresh: (current: SessionData) => Promise<RefreshResult>): Promise<RefreshResult>;
}

/** Remembers one-time values (login states, logout token ids) so that a replay is refused. */
export interface ReplayGuard {
  /**
   * Records `key` for `ttlMs` and returns true, or returns false when it was already recorded (in this
   * process for cookies, across replicas for Redis).
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
}

/** Finds sessions by the provider's session id or subject, for back-channel logout. */
export interface ProviderSessionIndex {
  /** Ends the sessions a provider logout names; returns how many it knows it ended. */
  endProviderSessions(logout: ProviderLogout): Promise<number>;
}

/** Lists and ends sessions for the admin API; tells who listens when sessions end. */
export interface SessionControl {
  /** False for the cookie store: the sessions live in browsers, so they can be neither listed nor read by id. */
  readonly canList: boolean;
  /** The sessions of user `sub` (Redis; empty for the cookie store). */
  listUserSessions(sub: string): Promise<SessionData[]>;
  /** The stored session `id`: null when it is gone, undefined when the store cannot tell (cookie). */
  readSession(id: string): Promise<SessionData | null | undefined>;
  /** True when this process already knows `session` ended (the cookie store's revocations); Redis: false (readSession tells). */
  isEnded(session: SessionData): boolean;
  /** Ends session `id`; false when the store knows it has no such session (Redis). */
  endSession(id: string): Promise<boolean>;
  /**
   * Ends the sessions of `sub` created up to `at`, at every provider or, with `only`, at that one (its
   * `provider` undefined: the primary); returns how many it knows it ended.
   */
  endUserSessions(sub: string, at: number, only?: { provider: string | undefined }): Promise<number>;
  /** Where every ended session is announced (this process's, and other replicas' with Redis). */
  endings: SessionEndings;
}

/**
 * Sessions that ended: by id, or (cookie store) every session a provider logout or a revocation names; or
 * `recheck`: ends may have been missed (a relay reconnected), so every session still held is read again.
 */
export type SessionEnd = { ids: readonly string[] } | { logout: ProviderLogout } | { recheck: true };

/** Announces ended sessions to those that hold something open for them (WebSockets). */
export interface SessionEndings {
  /** Announces an end here (and, with Redis, to the other replicas). */
  publish(end: SessionEnd): void;
  /** Calls `listener` with each end announced from now on; returns the unsubscribe. */
  subscribe(listener: (end: SessionEnd) => void): () => void;
}

/** An upstream's own token as kept between requests (never logged, never sent to a browser). */
export interface StoredUpstreamToken {
  accessToken: string;
  /** The provider's token_type, lower-cased (bearer; dpop once tokens are sender-constrained). */
  tokenType: string;
  /** With `oidc.dpop`: the thumbprint of the key a `dpop` token is bound to. */
  jkt?: string;
  /** When it is due again (ms since the epoch): `session.refreshSkew` before it expires. */
  refreshAt: number;
  /** A token exchange's subject: the session access token it came from (the next one needs a new exchange). */
  subject?: string;
  /** The upstream settings it was asked with (JSON), so a reload that changes them is not served an old token. */
  ask: string;
}

/**
 * Upstreams' own tokens shared by replicas (Redis: one sealed hash per session, deleted with the session's
 * record); the cookie store has none and keeps them in each process only.
 */
export interface UpstreamTokenStore {
  /** The stored token of `upstream` for session `id`, if any. */
  read(id: string, upstream: string): Promise<StoredUpstreamToken | undefined>;
  /** Stores it until it is due (at most the session's remaining life). */
  write(id: string, upstream: string, token: StoredUpstreamToken): Promise<void>;
}

/** What a session backend (cookie or Redis) provides: the store and its companions. */
export interface SessionBackend {
  /** Upstreams' tokens shared by replicas (Redis only). */
  upstreamTokens?: UpstreamTokenStore;
  store: SessionStore;
  refreshLock: RefreshLock;
  replayGuard: ReplayGuard;
  providerSessions: ProviderSessionIndex;
  control: SessionControl;
}

/** A loaded session and whether it must be written back (sealed under an older key). */
export interface LoadedSession {
  session: SessionData;
  needsRewrite: boolean;
}
