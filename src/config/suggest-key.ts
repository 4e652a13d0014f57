/**
 * "Did you mean …?" for an unknown key: the known key it most likely meant. A key written in another case
 * or in oauth2-proxy's snake_case (email_domains) is matched exactly; otherwise the nearest key by edit
 * distance (fastest-levenshtein), when it is close enough not to be a guess.
 */
import { distance } from 'fastest-levenshtein';

const folded = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

/** The known key `key` most likely meant, or undefined. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const target = folded(key);
  const same = known.find((candidate) => folded(candidate) === target);
  if (same !== undefined) return same;
  // One edit in short keys, two from eight letters on: closer than that is a guess.
  const allowed = target.length >= 8 ? 2 : 1;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    const d = distance(target, folded(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
