/** Number formatting shared by the terminal report and BENCHMARKS.md: "n/a" for anything not measured. */

/** A number with `digits` decimals. */
export const f = (n: number | undefined, digits = 2) => (n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
/** A fraction as a percentage. */
export const pct = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : 'n/a');
/** A ratio as "1.23x". */
export const times = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a');
/** "1 round", "3 rounds". */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A whole number with thousands separators. */
export const int = (n: number) => Math.round(n).toLocaleString('en');
