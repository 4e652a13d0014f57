/**
 * Identity header values that always arrive as they were meant. A value goes as it is when it is plain
 * printable ASCII; otherwise (characters outside printable ASCII such as Cyrillic or CJK names, control
 * characters, the list separator "," of X-Forwarded-Groups, a "%" that would read as an escape, or
 * leading or trailing spaces that HTTP would trim) each such character is percent-encoded as UTF-8
 * (RFC 3986). An app that percent-decodes every value (each comma-separated item of a list) gets the
 * original back in every case, and a plain value reads the same decoded or not.
 */

/** Characters that travel as they are: printable ASCII except "%" and ",". */
const PLAIN = /^[\x20-\x24\x26-\x2b\x2d-\x7e]*$/;

/** Encodes one value for an identity header (see the module comment). */
export function encodeHeaderValue(value: string): string {
  if (PLAIN.test(value) && value.trim() === value) return value;
  let out = '';
  const last = value.length - 1;
  let index = 0;
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    const edgeSpace = code === 0x20 && (index === 0 || index + char.length - 1 === last);
    const plain = code >= 0x20 && code <= 0x7e && char !== '%' && char !== ',' && !edgeSpace;
    out += plain ? char : encodeUtf8(char);
    index += char.length;
  }
  return out;
}

/** Encodes each item of a list and joins them with "," (X-Forwarded-Groups, X-Auth-Request-Groups). */
export function encodeHeaderList(values: readonly string[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + encodeHeaderValue(values[i]);
  return out;
}

/** One character as %XX escapes of its UTF-8 bytes (a lone surrogate becomes U+FFFD, as TextEncoder does). */
function encodeUtf8(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}
