/**
 * The gateway's DPoP keys (RFC 9449) for one provider: the configured `dpopKey`, or keys derived from
 * `session.keys` with HKDF (its own info string: domain separation from the session keys), so every replica
 * and every restart binds tokens to the same key. `session.keys[0]` gives the key new tokens are bound to;
 * each older session key still listed gives a key that keeps signing proofs for the tokens bound to it, so a
 * key rotation (a new key put first) re-binds each session at its next refresh instead of breaking it.
 */
import { createECDH, createHash, createPrivateKey, createPublicKey, hkdfSync, webcrypto, type KeyObject } from 'node:crypto';
import type * as client from 'openid-client';
import type { ProviderConfig } from '../config/schema.js';
import { dpopAlgorithm, privateKeyOf, type DpopAlgorithm } from '../config/private-key.js';
import { decodeKey } from '../config/key-bytes.js';
import { WEBCRYPTO_PARAMS } from './client-keys.js';

/** One DPoP key, ready to sign: its key, algorithm, public JWK, thumbprint and encoded JWS header. */
export interface DpopKey {
  privateKey: KeyObject;
  alg: DpopAlgorithm;
  /** The public JWK as it goes into each proof's header (kty, crv, x, y: nothing else). */
  publicJwk: Readonly<Record<string, string>>;
  /** The RFC 7638 SHA-256 thumbprint: the `jkt` tokens bound to this key carry. */
  jkt: string;
  /** BASE64URL of the proof's protected header {typ, alg, jwk}: the same for every proof. */
  header: string;
}

/** A provider's DPoP keys: the one tokens are bound to now, and every one proofs can still be signed with. */
export interface DpopKeys {
  current: DpopKey;
  /** By thumbprint; holds `current` too. */
  byJkt: ReadonlyMap<string, DpopKey>;
}

/** The order of P-256 (n): a derived scalar must lie in [1, n-1]. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The DPoP keys of one provider, or undefined when `dpop` is off. Synchronous: run once at start-up. */
export function loadDpopKeys(oidc: ProviderConfig, sessionKeys: readonly string[]): DpopKeys | undefined {
  if (!oidc.dpop) return undefined;
  const keys = oidc.dpopKey !== undefined ? [dpopKeyOf(privateKeyOf(oidc.dpopKey))] : sessionKeys.map((text) => deriveDpopKey(text, oidc.issuer, oidc.clientId));
  return { current: keys[0], byJkt: new Map(keys.map((key) => [key.jkt, key])) };
}

/** A DPoP key from a private key (its algorithm checked by the schema already). */
export function dpopKeyOf(privateKey: KeyObject): DpopKey {
  const alg = dpopAlgorithm(privateKey);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, string>;
  // RFC 7638: only the required members, in lexicographic order; the same object is the proof's jwk.
  const publicJwk: Record<string, string> = jwk.kty === 'OKP' ? { crv: jwk.crv, kty: 'OKP', x: jwk.x } : { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
  const jkt = createHash('sha256').update(JSON.stringify(publicJwk)).digest('base64url');
  const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg, jwk: publicJwk })).toString('base64url');
  return { privateKey, alg, publicJwk, jkt, header };
}

/**
 * A P-256 key from one session key: HKDF-SHA256 with an info naming the purpose and the provider's issuer
 * and client id (a JSON array, hashed, as session/keys.ts does), retried with a counter in the rare case
 * the 32 bytes are no valid scalar (about 2^-32).
 */
export function deriveDpopKey(sessionKey: string, issuer: string, clientId: string): DpopKey {
  const binding = createHash('sha256').update(JSON.stringify([issuer, clientId])).digest('base64url');
  const secret = decodeKey(sessionKey);
  for (let counter = 0; ; counter++) {
    const d = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), `authgate dpop v1 ${binding} ${counter}`, 32));
    const scalar = BigInt(`0x${d.toString('hex')}`);
    if (scalar === 0n || scalar >= P256_ORDER) continue;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(d);
    const point = ecdh.getPublicKey(); // 0x04 ‖ x ‖ y
    const jwk = { kty: 'EC', crv: 'P-256', d: d.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
    return dpopKeyOf(createPrivateKey({ key: jwk, format: 'jwk' }));
  }
}



/** The key as a WebCrypto pair for openid-client (its public half extractable, as the handle requires). */
export async function cryptoKeyPair(key: DpopKey): Promise<client.CryptoKeyPair> {
  const params = WEBCRYPTO_PARAMS[key.alg];
  const pkcs8 = key.privateKey.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' });
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('pkcs8', pkcs8, params, false, ['sign']),
    webcrypto.subtle.importKey('spki', spki, params, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}
