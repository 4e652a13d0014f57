/**
 * What a session holds and the interface every session store implements (one shared test suite runs
 * against each store).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Who the user is, as the provider said at login (ID token, then userinfo). */
export interface Identity {
  sub: string;
  email?: string;
  preferredUsername?: string;
  groups: string[];
  /** Only the claims some upstream's `allow.claims` names, so the session stays small. */
  claims: Record<string, unknown>;
}

/** The provider's tokens; never logged, never sent to a browser. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string;
  idToken?: string;
  /** When the access token expires (ms since the epoch); absent when the provider did not say. */
  expiresAt?: number;
}

/** One signed-in user's session. */
export interface SessionData {
  v: 1;
  /** Random per login (a new one at every login: no fixation). */
  id: string;
  identity: Identity;
  tokens: TokenSet;
  /** The provider's session id (`sid` claim), for back-channel logout. */
  providerSid?: string;
  createdAt: number;
  lastSeenAt: number;
}

/** Loads, saves and ends sessions for requests; implementations own their cookies and storage. */
export interface SessionStore {
  /** The request's session, or null when signed out (missing, tampered, unknown key, timed out). */
  load(request: FastifyRequest): Promise<LoadedSession | null>;
  /** Writes the session and sets whatever cookies carry it. */
  save(request: FastifyRequest, reply: FastifyReply, session: SessionData): Promise<void>;
  /** Ends the session and clears its cookies. */
  destroy(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** True when the store can answer (always, for cookies). */
  ping(): Promise<boolean>;
}

/** A loaded session and whether it must be written back (sealed under an older key). */
export interface LoadedSession {
  session: SessionData;
  needsRewrite: boolean;
}
