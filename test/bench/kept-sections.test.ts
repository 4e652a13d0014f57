/**
 * `npm run bench` rewrites BENCHMARKS.md from its run; the hand-written "Why the code looks like this" table
 * (the measurements behind the hot-path code) must survive that rewrite, in the committed file's words.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KEPT_SECTIONS, withKeptSections } from '../../bench/kept-sections.js';
import { ROOT } from '../helpers/gateway.js';

const GENERATED = '# Benchmarks\n\n## Full load\n\ntable\n\n## Notes\n\n- a note\n\n## Reproduce\n\nnpm run bench\n';

describe('BENCHMARKS.md sections kept across bench runs', () => {
  it('carries the committed file\'s hand-written sections into a new report, before its notes', () => {
    const committed = readFileSync(join(ROOT, 'BENCHMARKS.md'), 'utf8');
    const out = withKeptSections(GENERATED, committed);
    for (const title of KEPT_SECTIONS) {
      assert.ok(committed.includes(`\n${title}\n`), `BENCHMARKS.md has "${title}"`);
      const at = out.indexOf(`\n${title}\n`);
      assert.ok(at !== -1, `the new report keeps "${title}"`);
      assert.ok(at < out.indexOf('\n## Notes\n'), 'it comes before the notes');
      assert.ok(out.includes('src/observability/batched-metrics.ts'), 'with its table');
    }
    assert.ok(out.startsWith('# Benchmarks\n\n## Full load\n\ntable\n'), 'the generated part is unchanged');
  });

  it('adds nothing when the previous file had no such section, and never duplicates one', () => {
    assert.equal(withKeptSections(GENERATED, ''), GENERATED);
    const once = withKeptSections(GENERATED, readFileSync(join(ROOT, 'BENCHMARKS.md'), 'utf8'));
    assert.equal(withKeptSections(once, once), once);
  });
});
