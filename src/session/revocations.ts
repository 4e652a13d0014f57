/**
 * The cookie store's memory of back-channel logouts: a bounded, per-process list of ended provider
 * sessions (`sid`) and subjects (`sub`, with the time of the logout). Stateless cookies cannot be deleted,
 * so each request's session is checked against it. Limits, said in docs/sessions.md: each replica knows
 * only the logouts it received, and the list forgets its oldest entries past `max`.
 */
import { ExpiringMap } from './expiring-map.js';
import type { ProviderLogout, SessionData } from './types.js';

/** The revocation list. */
export interface Revocations {
  add(logout: ProviderLogout): void;
  isRevoked(session: SessionData): boolean;
}

/**
 * A provider's own name for a session or user: one provider's logout never ends another's sessions, even
 * for the same `sub` or `sid` (ids are [a-z0-9-], so the space cannot be forged into another's key).
 */
const scoped = (provider: string | undefined, value: string) => `${provider ?? ''} ${value}`;

/** Creates a revocation list; entries live as long as a session may (the absolute timeout). */
export function createRevocations(options: { max: number; ttlMs: number }): Revocations {
  const bySid = new ExpiringMap<string, number>({ max: options.max });
  const bySub = new ExpiringMap<string, number>({ max: options.max });
  return {
    add(logout) {
      if (logout.sid !== undefined) bySid.set(scoped(logout.provider, logout.sid), logout.at, options.ttlMs);
      else if (logout.sub !== undefined) {
        const key = scoped(logout.provider, logout.sub);
        bySub.set(key, Math.max(logout.at, bySub.get(key) ?? 0), options.ttlMs);
      }
    },
    isRevoked(session) {
      if (bySid.size === 0 && bySub.size === 0) return false;
      if (session.providerSid !== undefined && bySid.has(scoped(session.provider, session.providerSid))) return true;
      const subLogout = bySub.get(scoped(session.provider, session.identity.sub));
      return subLogout !== undefined && session.createdAt <= subLogout;
    },
  };
}
