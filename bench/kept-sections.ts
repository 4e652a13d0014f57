/**
 * Hand-written sections of BENCHMARKS.md that a run must not erase: each is carried over from the file being
 * replaced into the new report, before its "## Notes" (or at its end).
 */

/** Sections the team writes by hand (their `## ` titles). */
export const KEPT_SECTIONS = ['## Tail', '## Memory', '## Why the code looks like this'];

/** A `## ` section of `page` with its body, up to the next `## ` heading; undefined when absent. */
function sectionOf(page: string, title: string): string | undefined {
  const start = page.indexOf(`\n${title}\n`);
  if (start === -1) return undefined;
  const next = page.indexOf('\n## ', start + title.length + 1);
  return page.slice(start + 1, next === -1 ? page.length : next + 1).trimEnd();
}

/** The new report with every kept section of the previous file put back (a section the new one has stays its own). */
export function withKeptSections(report: string, previous: string): string {
  let out = report;
  for (const title of KEPT_SECTIONS) {
    const kept = sectionOf(previous, title);
    if (kept === undefined || sectionOf(out, title) !== undefined) continue;
    const notes = out.indexOf('\n## Notes\n');
    const at = notes !== -1 ? notes + 1 : out.indexOf('\n## Reproduce\n') + 1 || out.length;
    out = `${out.slice(0, at)}${kept}\n\n${out.slice(at)}`;
  }
  return out;
}
