/** The bytes of a configured secret key (`session.keys`): one decoding for every key derived from them. */

/** Decodes one configured key (hex when it is valid hex, else base64 or base64url). */
export function decodeKey(text: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0) return Buffer.from(value, 'hex');
  return Buffer.from(value, 'base64');
}
