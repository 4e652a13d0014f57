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

/**
 * A provider's own name for a session or user: one provider's logout never ends another's sessions, even
 * for the same `sub` or `sid` (ids are [a-z0-9-], so the space cannot be forged into another's key).
 */
const scoped = (provider: string | undefined, value: string) => `${provider ?? ''} ${value}`;
/** The scope of an admin's revocation of a user: that `sub` at every provider. */
const ANY_PROVIDER = '*';

/** Creates a revocation list; entries live as long as a session may (the absolute timeout). */
export function createRevocations(options: { max: number; ttlMs: number }): Revocations {
  const bySid = new ExpiringMap<string, number>({ max: options.max });
  const bySub = new ExpiringMap<string, number>({ max: options.max });
  const byId = new ExpiringMap<string, true>({ max: options.max });
  return {
    add(logout) {
      const provider = logout.anyProvider ? ANY_PROVIDER : logout.provider;
      if (logout.sid !== undefined) bySid.set(scoped(provider, logout.sid), logout.at, options.ttlMs);
      else if (logout.sub !== undefined) {
        const key = scoped(provider, logout.sub);
        bySub.set(key, Math.max(logout.at, bySub.get(key) ?? 0), options.ttlMs);
      }
    },
    addSession(id) {
      byId.set(id, true, options.ttlMs);
    },
    isRevoked(session) {
      if (bySid.size === 0 && bySub.size === 0 && byId.size === 0) return false;
      if (byId.size > 0 && byId.has(session.id)) return true;
      if (session.providerSid !== undefined && bySid.has(scoped(session.provider, session.providerSid))) return true;
      const { sub } = session.identity;
      const subLogout = Math.max(bySub.get(scoped(session.provider, sub)) ?? -1, bySub.get(scoped(ANY_PROVIDER, sub)) ?? -1);
      return subLogout >= 0 && session.createdAt <= subLogout;
    },
  };
}
