/**
 * What a session holds and the interface every session store implements (one shared test suite runs
 * against each store).
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
  sid?: string;
  sub?: string;
  /** Sessions of `sub` created before this time (ms) end; later logins are not affected. */
  at: number;
}

/** Loads, saves and ends sessions for requests; implementations own their cookies and storage. */
export interface SessionStore {
  /**
   * The request's session, or null when signed out (missing, tampered, unknown key, timed out). A store that
   * needs no I/O answers synchronously (the cookie store): the request then costs no promise on the way.
   */
  load(request: FastifyRequest): LoadedSession | null | Promise<LoadedSession | null>;
  /** Stores a new session (a login) and sets the cookies that carry it. */
  create(request: FastifyRequest, reply: FastifyReply, session: SessionData): Promise<void>;
  /**
   * Writes back a session this request loaded (idle clock, re-sealing under the first key, new tokens).
   * Never brings back a session that was ended meanwhile, never replaces newer tokens (higher `gen`).
   */
  save(request: FastifyRequest, reply: FastifyReply, session: SessionData): Promise<void>;
  /** Ends the request's session and clears its cookies. */
  destroy(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * Runs a refresh under the store's per-session lock (across replicas where the store is shared). `refresh`
   * receives the session as stored when the lock was taken, so a refresh another replica finished meanwhile
   * is seen and not repeated; a refreshed session is stored before the lock is released.
   */
  withRefreshLock(session: SessionData, refresh: (current: SessionData) => Promise<RefreshResult>): Promise<RefreshResult>;
  /** Ends the sessions a provider logout names (back-channel logout); returns how many it knows it ended. */
  endProviderSessions(logout: ProviderLogout): Promise<number>;
  /**
   * Records `key` for `ttlMs` and returns true, or returns false when it was already recorded (in this
   * process for cookies, across replicas for Redis). Used to refuse a replayed logout token's jti.
   */
  claimOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Resolves once the store can serve (connected), or after a bounded wait; called before listening. */
  start(): Promise<void>;
  /** True when the store can answer (always, for cookies). */
  ping(): Promise<boolean>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** A loaded session and whether it must be written back (sealed under an older key). */
export interface LoadedSession {
  session: SessionData;
  needsRewrite: boolean;
}
