/**
 * The session side of step-up (docs/step-up.md): which session a step-up login upgrades, and what the
 * upgraded session keeps. The upgrade gets a new id (no session fixation across the change of strength) and
 * the new login's tokens, identity, acr and auth_time; it keeps the sign-in time, so the absolute timeout
 * still counts from the first sign-in. Whatever else the old session held for its old tokens is dropped.
 */
import { createHash } from 'node:crypto';
import type { SessionData } from './types.js';

/** A short fingerprint of a session id, named by a step-up transaction so that the id itself never travels. */
export function sessionFingerprint(id: string): string {
  return createHash('sha256').update(id).digest('base64url').slice(0, 22);
}

/** True when `fresh` (the step-up login) is the same user at the same provider as `old`. */
export function sameUser(old: SessionData, fresh: SessionData): boolean {
  return old.identity.sub === fresh.identity.sub && old.provider === fresh.provider;
}

/** The upgraded session: `fresh` (new id, tokens, identity, acr, auth_time) with the sign-in time of `old`. */
export function upgradedSession(old: SessionData, fresh: SessionData): SessionData {
  return { ...fresh, createdAt: old.createdAt };
}
