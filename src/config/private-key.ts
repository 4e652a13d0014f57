/**
 * Private keys given in the configuration (PEM or a private JWK), parsed with node:crypto, and which of
 * them can sign DPoP proofs. Messages never contain key material: they are printed by --check and at start.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** The JWS algorithms a DPoP key signs with, by key type (RSA is refused: see dpopAlgorithm). */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'Ed25519';

const EC_ALGORITHMS: Readonly<Record<string, DpopAlgorithm>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };

/** A private key from PEM (PKCS#8, SEC1 or PKCS#1) or a private JWK; throws an Error whose message holds no key material. */
export function parsePrivateKey(text: string): KeyObject {
  const value = text.trim();
  try {
    if (value.startsWith('{')) return createPrivateKey({ key: JSON.parse(value) as Record<string, unknown> as never, format: 'jwk' });
    return createPrivateKey(value);
  } catch {
    throw new Error('not a private key in PEM (PKCS#8, SEC1 or PKCS#1) or as a private JWK');
  }
}

/**
 * The algorithm of a DPoP key: ES256/384/512 for EC keys, Ed25519. RSA keys are refused: every proxied
 * request signs a proof, and an RSA signature costs about thirty times an ES256 one (and oidc-provider,
 * like several providers, accepts no RSA DPoP proof by default).
 */
export function dpopAlgorithm(key: KeyObject): DpopAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'Ed25519';
  const alg = key.asymmetricKeyType === 'ec' ? EC_ALGORITHMS[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (alg) return alg;
  throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key cannot sign DPoP proofs here: give an EC key (P-256 for ES256, P-384, P-521) or an Ed25519 key`);
}

/** Why a configured DPoP key is refused, or undefined when it is usable. */
export function dpopKeyProblem(text: string): string | undefined {
  try {
    dpopAlgorithm(parsePrivateKey(text));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
