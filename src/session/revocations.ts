/**
 * The cookie store's memory of back-channel logouts and admin revocations: a bounded, per-process list of
 * ended provider sessions (`sid`), subjects (`sub`, with the time of the logout) and session ids. Stateless cookies cannot be deleted,
 * so each request's session is checked against it. Limits, said in docs/sessions.md: each replica knows
 * only the logouts it received, and the list forgets its oldest entries past `max`.
 */
import { ExpiringMap } from './expiring-map.js';
import type { ProviderLogout, SessionData } from './types.js';

/** The revocation list. */
export interface Revocations {
  add(logout: ProviderLogout): void;
  /** Refuses session `id` from now on (an admin ended it). */
  addSession(id: string): void;
  isRevoked(session: SessionData): boolean;
}

/** Creates a revocation list; entries live as long as a session may (the absolute timeout). */
export function createRevocations(options: { max: number; ttlMs: number }): Revocations {
  const bySid = new ExpiringMap<string, number>({ max: options.max });
  const bySub = new ExpiringMap<string, number>({ max: options.max });
  const byId = new ExpiringMap<string, true>({ max: options.max });
  return {
    add(logout) {
      if (logout.sid !== undefined) bySid.set(logout.sid, logout.at, options.ttlMs);
      else if (logout.sub !== undefined) bySub.set(logout.sub, Math.max(logout.at, bySub.get(logout.sub) ?? 0), options.ttlMs);
    },
    addSession(id) {
      byId.set(id, true, options.ttlMs);
    },
    isRevoked(session) {
      if (bySid.size === 0 && bySub.size === 0 && byId.size === 0) return false;
      if (byId.size > 0 && byId.has(session.id)) return true;
      if (session.providerSid !== undefined && bySid.has(session.providerSid)) return true;
      const subLogout = bySub.get(session.identity.sub);
      return subLogout !== undefined && session.createdAt <= subLogout;
    },
  };
}
