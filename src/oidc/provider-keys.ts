/**
 * The provider's signing keys (its JWKS), for checking ID tokens. Fetched through the provider's own fetch
 * (provider-fetch.ts) when the metadata is loaded and again with every metadata refresh; a fetch replaces
 * the whole set, so a key the provider withdraws stops verifying. A token naming a kid that is not in the
 * set fetches it again at once, at most once per UNKNOWN_KID_REFETCH_MS: a flood of made-up kids costs the
 * provider one request a minute, a real key rotation costs one request.
 *
 * Symmetric keys (`kty: oct`) are never taken from a JWKS, whatever the provider publishes.
 * This is the gateway's one key set: ID tokens (id-token.ts) and API bearer tokens (access-token.ts) are
 * both checked with it, so they share one fetch path and one refetch policy.
 * Not jose's createRemoteJWKSet: its cooldown runs from any fetch (so a key rotated in within a minute of a
 * load fails), a failed fetch does not start it, and it offers no hook for `generation` or JwksUnavailable.
 */
import type { CustomFetch } from 'openid-client';
import { createLocalJWKSet, errors, jwtVerify, type JWK, type JWTVerifyGetKey } from 'jose';

/** A token with an unknown kid may fetch the JWKS again at most this often. */
export const UNKNOWN_KID_REFETCH_MS = 60_000;
/** How long one JWKS fetch may take. */
const FETCH_TIMEOUT_MS = 10_000;

/** Which JWS algorithms go with a key type, for warm() when a JWK names no `alg`. */
const ALGORITHM_FAMILY: Readonly<Record<string, RegExp>> = { RSA: /^(RS|PS)\d/, EC: /^ES\d/, OKP: /^(EdDSA|Ed25519)$/ };

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The provider's JWKS could not be fetched or read: an outage (503), not the token's fault. */
export class JwksUnavailable extends Error {
  override readonly name = 'JwksUnavailable';
}

/** The provider's current signing keys, with the kid-driven refetch. */
export class ProviderKeys {
  private set: JWTVerifyGetKey | undefined;
  /** The keys of `set`, for warm(). */
  private jwks: readonly JWK[] = [];
  private lastKidRefetch = -Infinity;
  private inFlight: Promise<void> | undefined;
  /** The last loaded keys as JSON, to tell a changed set from the same one fetched again. */
  private loadedJson: string | undefined;
  private changes = 0;

  constructor(
    private jwksUri: string,
    private readonly fetch: CustomFetch,
  ) {}

  /**
   * Goes up each time a load brings a set that differs from the one before (a key added, changed or
   * withdrawn), so caches of what was verified with the old set (access-token.ts) know to forget it.
   */
  get generation(): number {
    return this.changes;
  }

  /** True once a JWKS has been loaded. */
  get loaded(): boolean {
    return this.set !== undefined;
  }

  /**
   * Fetches the JWKS now (optionally from a new jwks_uri, after a metadata refresh) and replaces the set.
   * Rejects with JwksUnavailable and keeps the old set when the fetch fails.
   */
  async load(jwksUri: string = this.jwksUri): Promise<void> {
    const response = await this.fetch(jwksUri, {
      method: 'GET',
      body: undefined,
      headers: { accept: 'application/json, application/jwk-set+json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    }).catch((err: unknown) => {
      throw new JwksUnavailable('the provider JWKS could not be fetched', { cause: err });
    });
    if (response.status !== 200) throw new JwksUnavailable(`the provider JWKS answered HTTP ${response.status}`);
    let document: { keys?: unknown };
    try {
      document = (await response.json()) as { keys?: unknown };
    } catch (err) {
      throw new JwksUnavailable('the provider JWKS is not JSON', { cause: err });
    }
    if (!Array.isArray(document.keys)) throw new JwksUnavailable('the provider JWKS has no "keys" array');
    const keys = (document.keys as JWK[]).filter((k) => typeof k === 'object' && k !== null && k.kty !== 'oct');
    try {
      this.set = createLocalJWKSet({ keys });
    } catch (err) {
      throw new JwksUnavailable('the provider JWKS is malformed', { cause: err });
    }
    this.jwks = keys;
    this.jwksUri = jwksUri;
    const json = JSON.stringify(keys);
    if (json !== this.loadedJson) {
      this.loadedJson = json;
      this.changes += 1;
    }
  }

  /**
   * The key for a token's header, as jose's jwtVerify takes it. An unknown kid fetches the JWKS again
   * (single flight, rate-limited) and looks once more; a fetch that fails rejects with JwksUnavailable.
   */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const set = this.set;
    if (!set) throw new JwksUnavailable('the provider JWKS is not loaded yet');
    try {
      return await set(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      if (this.inFlight) await this.inFlight;
      else if (Date.now() - this.lastKidRefetch >= UNKNOWN_KID_REFETCH_MS) await this.refetch();
      else throw err;
      return (this.set as JWTVerifyGetKey)(header, token);
    }
  };

  /**
   * Imports each signing key now (jose imports a JWK on its first use) and runs one signature check with
   * it on a token signed by nobody, which fails as it must: the first logins after a start then find the
   * keys imported and the check's code compiled. Resolves, never rejects; never fetches the JWKS again.
   * `algorithms` (the ID token policy's) name the algorithm for a key that does not name its own.
   */
  async warm(algorithms: readonly string[]): Promise<void> {
    const set = this.set;
    if (!set) return;
    for (const jwk of this.jwks) {
      const alg = jwk.alg ?? algorithms.find((a) => ALGORITHM_FAMILY[jwk.kty ?? '']?.test(a));
      if (alg === undefined || !algorithms.includes(alg) || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
      const header = { alg, typ: 'JWT', ...(jwk.kid === undefined ? {} : { kid: jwk.kid }) };
      const token = `${base64url(header)}.${base64url({})}.${Buffer.alloc(256).toString('base64url')}`;
      try {
        const key = await set(header, { payload: '', signature: '' });
        await jwtVerify(token, key, { algorithms: [alg] });
      } catch {
        // Expected: the token is signed by nobody (or the key is not one jose can use, which a login reports).
      }
    }
  }

  /** One kid-driven fetch at a time; callers that arrive meanwhile wait for it instead of fetching too. */
  private refetch(): Promise<void> {
    if (!this.inFlight) {
      this.lastKidRefetch = Date.now();
      this.inFlight = this.load().finally(() => {
        this.inFlight = undefined;
      });
    }
    return this.inFlight;
  }
}
