/**
 * Idle and absolute timeouts, judged from timestamps inside the encrypted session (a cookie's Max-Age is
 * only a hint to the browser and can be replayed past it).
 */
import type { SessionData } from './types.js';

/** The two timeouts in milliseconds. */
export interface Lifetime {
  idleTimeout: number;
  absoluteTimeout: number;
}

/** True when the session is past either timeout. */
export function isSessionExpired(session: SessionData, lifetime: Lifetime, now: number): boolean {
  return now - session.createdAt >= lifetime.absoluteTimeout || now - session.lastSeenAt >= lifetime.idleTimeout;
}

/**
 * True when `lastSeenAt` is old enough to be worth writing again. Refreshing it on every request would
 * re-encrypt and re-send the cookie each time; a tenth of the idle timeout (at most a minute) keeps the
 * idle clock accurate to that margin.
 */
export function needsTouch(session: SessionData, lifetime: Lifetime, now: number): boolean {
  return now - session.lastSeenAt >= Math.min(lifetime.idleTimeout / 10, 60_000);
}
