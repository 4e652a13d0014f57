/**
 * Session keys from configuration: decoded from hex or base64, then stretched with HKDF-SHA256 into one
 * independent 32-byte key per purpose and per gateway, so a login-transaction cookie can never be opened
 * as a session, and one gateway's cookies and records never open at another gateway that shares its keys.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { decodeKey } from '../config/key-bytes.js';

/** What a derived key is used for; each purpose gets its own key from every configured key. */
export type KeyPurpose = 'session' | 'login-transaction' | 'session-record';

/**
 * Who a gateway's sessions belong to: the provider, the client registered there, and the origin users
 * reach the gateway at. Keys are derived for exactly this triple.
 */
export interface GatewayBinding {
  issuer: string;
  clientId: string;
  /** The gateway's publicUrl; only its origin counts (a path or trailing slash changes nothing). */
  publicUrl: string;
}


/**
 * The HKDF info for one purpose at one gateway. The binding is JSON-encoded (an array of strings: no two
 * different triples give the same text, whatever characters they hold) and hashed, because HKDF info is
 * limited to 1024 bytes and an issuer URL is not.
 */
export function keyInfo(purpose: KeyPurpose, binding: GatewayBinding): string {
  const joined = JSON.stringify([binding.issuer, binding.clientId, new URL(binding.publicUrl).origin]);
  return `authgate ${purpose} v2 ${createHash('sha256').update(joined).digest('base64url')}`;
}

/**
 * Derives the 32-byte keys for one purpose at one gateway, in configuration order (the first encrypts, all
 * decrypt). Done once at start-up, so the binding costs nothing per request: a cookie sealed for another
 * gateway simply fails to open.
 */
export function deriveKeys(configured: readonly string[], purpose: KeyPurpose, binding: GatewayBinding): Buffer[] {
  const info = keyInfo(purpose, binding);
  return configured.map((text) => Buffer.from(hkdfSync('sha256', decodeKey(text), Buffer.alloc(0), info, 32)));
}
