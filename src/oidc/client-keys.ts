/**
 * The client's signing key for private_key_jwt (RFC 7523): parsed with node:crypto (PEM in any of its forms,
 * or a private JWK), imported into WebCrypto for openid-client to sign with (Node 20 has no
 * KeyObject.toCryptoKey), and published without its private members at GET /oauth2/jwks.
 */
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import * as client from 'openid-client';
import { EC_CURVE_ALGS, parsePrivateKey } from '../config/private-key.js';

/** The JWS algorithm of a client assertion. */
export type AssertionAlg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'Ed25519' | 'EdDSA';

/** How WebCrypto imports a key for each alg ("EdDSA" is Ed25519 under its older name); DPoP keys too. */
export const WEBCRYPTO_PARAMS: Record<AssertionAlg, webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
  ES512: { name: 'ECDSA', namedCurve: 'P-521' },
  Ed25519: { name: 'Ed25519' },
  EdDSA: { name: 'Ed25519' },
};

/** openid-client's ClientAuth as oauth4webapi, which calls it, declares it: it may return a promise. */
type AsyncClientAuth = (...args: Parameters<client.ClientAuth>) => Promise<void>;

/** The public members a JWK Set may carry; anything else (d, p, q, dp, dq, qi, k, ...) never leaves. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** One provider's private_key_jwt key. */
export class ClientSigningKey {
  private readonly key: KeyObject;
  private readonly publicMembers: JWK;
  private readonly kidPromise: Promise<string>;
  private readonly signers = new Map<AssertionAlg, Promise<AsyncClientAuth>>();

  /** `text` was validated by the config schema; `kid` is `clientPrivateKeyId` when set. */
  constructor(text: string, kid: string | undefined) {
    const parsed = parsePrivateKey(text);
    if ('problem' in parsed) throw new Error(`clientPrivateKey: ${parsed.problem}`);
    this.key = parsed.key;
    const full = createPublicKey(this.key).export({ format: 'jwk' }) as Record<string, unknown>;
    this.publicMembers = Object.fromEntries(PUBLIC_MEMBERS.filter((name) => full[name] !== undefined).map((name) => [name, full[name]]));
    this.kidPromise = kid === undefined ? calculateJwkThumbprint(this.publicMembers) : Promise.resolve(kid);
  }

  /**
   * The alg for this key at a provider that lists `supported` (token_endpoint_auth_signing_alg_values_supported):
   * RSA signs RS256 unless the provider takes PS256 and not RS256 (FAPI 2.0 providers); Ed25519 says
   * "Ed25519" unless the provider lists only the older "EdDSA".
   */
  algFor(supported: readonly string[] | undefined): AssertionAlg {
    const offers = (alg: string) => supported?.includes(alg) === true;
    switch (this.key.asymmetricKeyType) {
      case 'rsa':
        return offers('PS256') && !offers('RS256') ? 'PS256' : 'RS256';
      case 'ec':
        return EC_CURVE_ALGS[this.key.asymmetricKeyDetails?.namedCurve ?? ''] ?? 'ES256';
      default:
        return offers('EdDSA') && !offers('Ed25519') ? 'EdDSA' : 'Ed25519';
    }
  }

  /** The key's id in assertions and in the JWK Set. */
  kid(): Promise<string> {
    return this.kidPromise;
  }

  /** The public JWK as GET /oauth2/jwks publishes it, with the alg the gateway signs with at that provider. */
  async publicJwk(supported: readonly string[] | undefined): Promise<JWK> {
    return { ...this.publicMembers, kid: await this.kidPromise, alg: this.algFor(supported), use: 'sig' };
  }

  /**
   * openid-client's client authentication: the alg is chosen at the first request from the metadata the
   * request is made with (it can change with a metadata refresh), and the CryptoKey imported once per alg.
   */
  clientAuth(): client.ClientAuth {
    const auth: AsyncClientAuth = async (as, metadata, body, headers) => {
      const alg = this.algFor(as.token_endpoint_auth_signing_alg_values_supported);
      let signer = this.signers.get(alg);
      if (!signer) {
        signer = this.signer(alg);
        this.signers.set(alg, signer);
      }
      await (await signer)(as, metadata, body, headers);
    };
    // openid-client declares ClientAuth as returning void, yet awaits it (oauth4webapi's type says so, and
    // its own PrivateKeyJwt is async too).
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- awaited by oauth4webapi, see above
    return auth;
  }

  private async signer(alg: AssertionAlg): Promise<AsyncClientAuth> {
    const der = this.key.export({ type: 'pkcs8', format: 'der' });
    const key = await webcrypto.subtle.importKey('pkcs8', der, WEBCRYPTO_PARAMS[alg], false, ['sign']);
    const kid = await this.kidPromise;
    // oauth4webapi names an Ed25519 signature "Ed25519"; a provider that knows only "EdDSA" gets that name.
    const rename = alg === 'EdDSA' ? { [client.modifyAssertion]: (header: Record<string, unknown>) => void (header.alg = 'EdDSA') } : {};
    return client.PrivateKeyJwt({ key, kid }, rename) as unknown as AsyncClientAuth;
  }
}
