/**
 * Private keys given in the configuration: the client's key for private_key_jwt (RFC 7523,
 * `oidc.clientPrivateKey`) and the DPoP key (`oidc.dpopKey`), each a PEM (PKCS#8, PKCS#1 or SEC1) or a
 * private JWK as JSON. Parsed with node:crypto here so `--check` reports a key that cannot sign, and again
 * by oidc/client-keys.ts and oidc/dpop-key.ts, which sign with them. Messages never echo the key.
 */
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/** The curves the gateway signs with, and the JWS alg each one means. */
export const EC_CURVE_ALGS: Readonly<Record<string, 'ES256' | 'ES384' | 'ES512'>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** RFC 8725 / FAPI 2.0: RSA keys shorter than this are refused. */
const MIN_RSA_BITS = 2048;

/** The private key in `text`, or why it cannot be the client's signing key. */
export function parsePrivateKey(text: string): { key: KeyObject } | { problem: string } {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('{') ? createPrivateKey({ key: JSON.parse(trimmed) as JsonWebKey, format: 'jwk' }) : createPrivateKey(trimmed);
  } catch {
    return { problem: isPublic(trimmed) ? 'this is a public key; give the private key (the gateway publishes its public half at /oauth2/jwks)' : NOT_A_KEY };
  }
  const type = key.asymmetricKeyType;
  // Node exports no JWK for an RSA-PSS key, so /oauth2/jwks could not publish it: refused here, not at start.
  if (type === 'rsa-pss') return { problem: 'an RSA-PSS key (id-RSASSA-PSS), which cannot be published as a JWK; give an ordinary RSA key (it signs PS256 where the provider asks for it)' };
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) return { problem: `an RSA key of ${bits} bits; use at least ${MIN_RSA_BITS}` };
    return { key };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    return curve in EC_CURVE_ALGS ? { key } : { problem: `an EC key on an unsupported curve; use P-256, P-384 or P-521` };
  }
  if (type === 'ed25519') return { key };
  return { problem: `an unsupported key type (${type ?? 'unknown'}); use RSA (2048 bits or more), EC P-256/P-384/P-521 or Ed25519` };
}

const NOT_A_KEY = 'not a private key: expected a PEM (PKCS#8 "BEGIN PRIVATE KEY", PKCS#1 or SEC1) or a private JWK as JSON';

/** A public PEM, or a JWK without its private member "d": the most likely mix-up, so it gets its own message. */
function isPublic(text: string): boolean {
  if (/-----BEGIN (RSA )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(text)) return true;
  if (!text.startsWith('{')) return false;
  try {
    const jwk = JSON.parse(text) as Record<string, unknown>;
    return typeof jwk.kty === 'string' && jwk.kty !== 'oct' && jwk.d === undefined;
  } catch {
    return false;
  }
}

/**
 * `oidc.clientPrivateKey`: text that parses to a private key the gateway can sign client assertions with;
 * "" means none (so `"${OIDC_CLIENT_KEY:-}"` can stand in a file shared by setups with and without one).
 */
export const privateKeyText = z
  .string()
  .superRefine((text, ctx) => {
    if (text === '') return;
    const parsed = parsePrivateKey(text);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
  })
  .meta({ title: 'private key' });

/** The JWS algorithms a DPoP key signs with, by key type (RSA is refused: see dpopAlgorithm). */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'Ed25519';

/** A private key the schema already accepted; throws an Error whose message holds no key material. */
export function privateKeyOf(text: string): KeyObject {
  const parsed = parsePrivateKey(text);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.key;
}

/**
 * The algorithm of a DPoP key: ES256/384/512 for EC keys, Ed25519. RSA keys are refused: every proxied
 * request signs a proof, and an RSA signature costs about thirty times an ES256 one (and oidc-provider,
 * like several providers, accepts no RSA DPoP proof by default).
 */
export function dpopAlgorithm(key: KeyObject): DpopAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  const alg = key.asymmetricKeyType === 'ec' ? EC_CURVE_ALGS[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (alg) return alg;
  throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key cannot sign DPoP proofs here: give an EC key (P-256 for ES256, P-384, P-521) or an Ed25519 key`);
}

/** Why a configured DPoP key is refused, or undefined when it is usable. */
export function dpopKeyProblem(text: string): string | undefined {
  try {
    dpopAlgorithm(privateKeyOf(text));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
