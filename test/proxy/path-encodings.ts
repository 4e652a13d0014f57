/**
 * Generators for the ways a client can spell one path: every character raw or percent-encoded (upper- or
 * lower-case hex, non-ASCII as raw UTF-8 bytes or as escapes), letters in either case, `./` and `x/../`
 * inserted, slashes doubled, `;params` added to segments. A spelled target is what Node hands the gateway:
 * the request line's bytes as latin1 text, one char per byte.
 */
import fc from 'fast-check';

/** Prefixes holding characters outside the unreserved set, and a plain one for comparison. */
export const PROTECTED_PREFIXES = ['/@admin', '/odata/$metadata', '/café', '/a b', '/日本', '/admin'] as const;

/** Characters a generated suffix segment is made of: unreserved, sub-delims, reserved-but-escaped, non-ASCII. */
const SUFFIX_CHARS = ['a', 'Z', '0', '-', '_', '~', '.', '@', '$', ':', '!', '=', '+', ',', ';', '%', '?', '#', ' ', '"', '[', ']', 'é', 'É', '日', '😀'];

/** ASCII characters a request line may carry raw in a path without changing what it means. */
const RAW_ASCII = /^[A-Za-z0-9\-._~!$&'()*+,;=:@"<>[\]^`{|}]$/;

/** One path segment: none is "." or "..", and none starts with "." (so no "..;x" either). */
const segment = fc
  .array(fc.constantFrom(...SUFFIX_CHARS), { minLength: 1, maxLength: 6 })
  .map((chars) => chars.join(''))
  .filter((s) => !s.startsWith('.'));

/**
 * A decoded path under `prefix`: the prefix (letters maybe in another case), 0-3 more segments, `;params`
 * maybe added to segments (the route table ignores them), maybe a trailing slash.
 */
export function pathUnder(prefix: string): fc.Arbitrary<string> {
  const prefixSegments = prefix.split('/').length - 1;
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: prefix.length, maxLength: prefix.length }),
      fc.array(segment, { maxLength: 3 }),
      fc.array(fc.constantFrom('', '', '', ';', ';x=1', ';jsessionid=A'), { minLength: prefixSegments + 3, maxLength: prefixSegments + 3 }),
      fc.boolean(),
    )
    .map(([flips, rest, params, trailing]) => {
      const cased = [...prefix].map((c, i) => (flips[i] ? flipCase(c) : c)).join('');
      const segments = [...cased.split('/').slice(1), ...rest].map((s, i) => s + (params[i] ?? ''));
      return '/' + segments.join('/') + (trailing ? '/' : '');
    });
}

function flipCase(c: string): string {
  const upper = c.toUpperCase();
  const flipped = upper === c ? c.toLowerCase() : upper;
  // Only a one-to-one change (not "ß" → "SS"), so the spelled path still names the same prefix.
  return [...flipped].length === 1 && flipped.toLowerCase() === c.toLowerCase() ? flipped : c;
}

/** How one character is written. */
type CharSpelling = 'raw' | 'upper' | 'lower';
/** What goes in front of a segment in place of a plain "/": the same path once dot segments resolve. */
const SEPARATORS = ['/', '/', '/', '//', '/./', '/%2e/', '/x/../', '/x/%2E%2E/', '/%C3%A9/.%2e/'] as const;

/**
 * Every spelling of a decoded path (which starts with "/"): what the request line would carry. With
 * `rawNonAscii: false` non-ASCII characters are always escaped: Node's HTTP/1 parser refuses raw bytes
 * above 0x7F in a request line (a proxy in front may pass them on in X-Forwarded-Uri, though).
 */
export function spellingOf(path: string, { rawNonAscii = true } = {}): fc.Arbitrary<string> {
  const segments = path.split('/').slice(1);
  const chars = [...path].length;
  return fc
    .tuple(
      fc.array(fc.constantFrom<CharSpelling>('raw', 'upper', 'lower'), { minLength: chars, maxLength: chars }),
      fc.array(fc.constantFrom(...SEPARATORS), { minLength: segments.length, maxLength: segments.length }),
    )
    .map(([spellings, separators]) => {
      let out = '';
      let k = 0;
      segments.forEach((name, i) => {
        out += separators[i] ?? '/';
        for (const c of name) {
          const how = spellings[k++] ?? 'raw';
          out += spellChar(c, how === 'raw' && !rawNonAscii && c.charCodeAt(0) > 0x7f ? 'upper' : how);
        }
      });
      return out;
    });
}

/** One character as the request line carries it: raw (UTF-8 bytes as latin1 chars) or escaped. */
function spellChar(c: string, how: CharSpelling): string {
  const bytes = Buffer.from(c, 'utf8');
  const mustEscape = bytes.length === 1 && !RAW_ASCII.test(c);
  if (how === 'raw' && !mustEscape) return bytes.toString('latin1');
  const hex = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return how === 'lower' ? hex : hex.toUpperCase();
}

/** A decoded path under one of the protected prefixes and one spelling of it. */
export const protectedSpelling = fc
  .constantFrom(...PROTECTED_PREFIXES)
  .chain((prefix) => pathUnder(prefix).chain((path) => spellingOf(path).map((raw) => ({ prefix, path, raw }))));
