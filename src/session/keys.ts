/**
 * Session keys from configuration: decoded from hex or base64, then stretched with HKDF-SHA256 into one
 * independent 32-byte key per purpose, so a login-transaction cookie can never be opened as a session.
 */
import { hkdfSync } from 'node:crypto';

/** What a derived key is used for; each purpose gets its own key from every configured key. */
export type KeyPurpose = 'session' | 'login-transaction' | 'session-record';

/** Decodes one configured key (hex when it is valid hex, else base64 or base64url). */
export function decodeKey(text: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0) return Buffer.from(value, 'hex');
  return Buffer.from(value, 'base64');
}

/** Derives the 32-byte keys for one purpose, in configuration order (the first encrypts, all decrypt). */
export function deriveKeys(configured: readonly string[], purpose: KeyPurpose): Buffer[] {
  return configured.map((text) =>
    Buffer.from(hkdfSync('sha256', decodeKey(text), Buffer.alloc(0), `authgate ${purpose} v1`, 32)),
  );
}
