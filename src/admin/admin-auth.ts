/**
 * Who may use the admin API: `Authorization: Bearer <one of admin.tokens>`. Both sides are hashed before
 * the comparison, so timingSafeEqual compares equal lengths and the time taken says nothing of a token,
 * and every token is compared whatever the first gave.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Returns the index of the token an Authorization header carries (for the log, never the token), or -1. */
export type AdminAuthorizer = (authorization: string | undefined) => number;

/** Creates the check for a list of tokens (hashed once, here). */
export function createAdminAuthorizer(tokens: readonly string[]): AdminAuthorizer {
  const hashes = tokens.map(sha256);
  return (authorization) => {
    if (authorization === undefined) return -1;
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization);
    if (!match) return -1;
    const presented = sha256(match[1]);
    let found = -1;
    hashes.forEach((hash, index) => {
      if (timingSafeEqual(hash, presented) && found === -1) found = index;
    });
    return found;
  };
}
