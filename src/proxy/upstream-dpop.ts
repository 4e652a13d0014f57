/**
 * DPoP towards upstreams: a session whose access token is DPoP-bound presents it as `Authorization: DPoP`
 * with a fresh proof per request (htm, htu of the upstream URL, ath). The key and the token's hash are
 * looked up once per token set (a cached session is the same object request after request).
 */
import type { TokenSet } from '../identity.js';
import type { DpopKey, DpopKeys } from '../oidc/dpop-key.js';
import { accessTokenHash } from '../oidc/dpop-proof.js';

/** What proves a bound token upstream: the key it is bound to and its `ath`. */
export interface UpstreamDpop {
  key: DpopKey;
  ath: string;
}

/** What a bound token is: the session's token set, or an upstream's own token (upstream-tokens.ts). */
type BoundToken = Pick<TokenSet, 'accessToken' | 'jkt'>;

const byTokens = new WeakMap<BoundToken, UpstreamDpop | null>();

/**
 * The proof material for a session's tokens (or an upstream's own token): undefined for a Bearer token, and for a token bound to a key
 * this gateway does not hold (DPoP turned off, the key replaced): that session is refreshed (session/refresh.ts).
 */
export function upstreamDpopOf(keys: DpopKeys | undefined, tokens: BoundToken): UpstreamDpop | undefined {
  if (tokens.jkt === undefined) return undefined;
  let found = byTokens.get(tokens);
  if (found === undefined) {
    const key = keys?.byJkt.get(tokens.jkt);
    found = key === undefined ? null : { key, ath: accessTokenHash(tokens.accessToken) };
    byTokens.set(tokens, found);
  }
  return found ?? undefined;
}
