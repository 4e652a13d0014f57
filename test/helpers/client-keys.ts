/**
 * Client signing keys for the private_key_jwt tests, made fresh with node:crypto in the forms a
 * configuration may give them (PKCS#8, PKCS#1 or SEC1 PEM, a private JWK), and their public JWKs as a
 * provider registers them.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'oidc-provider';
import type { ConfigTree, StackOptions } from './gateway.js';

/** The kinds of key the tests use: the supported ones and some the gateway must refuse. */
export type KeyKind = 'rsa' | 'rsa-1024' | 'rsa-pss' | 'p256' | 'p384' | 'ed25519' | 'x25519' | 'secp256k1';

/** A fresh key pair. */
export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  pkcs8: string;
  /** The private key as a JWK in JSON. */
  jwkText: string;
  /** The public JWK (no kid), as a provider registers it. */
  publicJwk: JWK;
  /** The public key as an SPKI PEM: what a user might give by mistake. */
  publicPem: string;
}

function pair(kind: KeyKind): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (kind) {
    case 'rsa':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'rsa-1024':
      return generateKeyPairSync('rsa', { modulusLength: 1024 });
    case 'rsa-pss':
      return generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    case 'p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'p384':
      return generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'secp256k1':
      return generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    case 'ed25519':
      return generateKeyPairSync('ed25519');
    case 'x25519':
      return generateKeyPairSync('x25519');
  }
}

/** A fresh key of `kind`. */
export function testKey(kind: KeyKind): TestKey {
  const { privateKey, publicKey } = pair(kind);
  return {
    privateKey,
    publicKey,
    pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    jwkText: kind === 'rsa-pss' ? '' : JSON.stringify(privateKey.export({ format: 'jwk' })),
    publicJwk: kind === 'rsa-pss' ? ({}) : (publicKey.export({ format: 'jwk' })),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** The traditional PEM of an RSA (PKCS#1) or EC (SEC1) key. */
export function traditionalPem(key: TestKey): string {
  return key.privateKey.export({ type: key.privateKey.asymmetricKeyType === 'ec' ? 'sec1' : 'pkcs1', format: 'pem' }) as string;
}

/**
 * Stack options for a gateway that signs its client assertions with `keyText` (private_key_jwt) and a
 * provider that knows the client by its jwks_uri, the gateway's own /oauth2/jwks; `configure` adds more.
 */
export function jwksUriClient(keyText: string, configure?: (c: ConfigTree) => void): Pick<StackOptions, 'clientAuthMethod' | 'client' | 'configure'> {
  return {
    clientAuthMethod: 'private_key_jwt',
    client: (publicUrl) => ({ clientSecret: undefined, jwksUri: `${publicUrl}/oauth2/jwks` }),
    configure: (c) => {
      c.oidc.clientAuthMethod = 'private_key_jwt';
      delete c.oidc.clientSecret;
      c.oidc.clientPrivateKey = keyText;
      configure?.(c);
    },
  };
}
