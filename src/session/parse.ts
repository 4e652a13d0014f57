/**
 * Checks the shape of a decrypted session. A document that decrypts but is not a session this version
 * wrote (an old format, a transaction cookie) is "signed out", never an exception.
 */
import type { SessionData } from './types.js';

/** Returns the session when `data` has the expected shape, else null. */
export function parseSessionData(data: Record<string, unknown>): SessionData | null {
  if (data.v !== 1 || typeof data.id !== 'string') return null;
  const identity = data.identity as SessionData['identity'] | undefined;
  const tokens = data.tokens as SessionData['tokens'] | undefined;
  if (!identity || typeof identity.sub !== 'string' || !Array.isArray(identity.groups)) return null;
  if (!tokens || typeof tokens.accessToken !== 'string' || typeof tokens.obtainedAt !== 'number') return null;
  if (typeof data.createdAt !== 'number' || typeof data.lastSeenAt !== 'number' || typeof data.gen !== 'number') return null;
  return data as unknown as SessionData;
}
