/**
 * The README and the docs link only to files that exist in the repository: the README links nothing outside
 * it (no web address, no path above the root), and every relative link in README.md, CHANGELOG.md,
 * BENCHMARKS.md and docs/*.md names a file that is there, so a moved or renamed page cannot leave a dead link.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/gateway.js';

/** Markdown link targets of a page, outside fenced code blocks. */
function linkTargets(page: string): string[] {
  const prose = page.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]);
}

const PAGES = ['README.md', 'CHANGELOG.md', 'BENCHMARKS.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

describe('links in the README and the docs', () => {
  it('the README links only to files inside the repository', () => {
    const targets = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    assert.ok(targets.length > 0, 'the README has links');
    for (const target of targets) {
      assert.ok(!/^[a-z][a-z0-9+.-]*:/i.test(target), `README links outside the repository: ${target}`);
      const path = resolve(ROOT, target.split('#')[0]);
      assert.ok(!relative(ROOT, path).startsWith('..'), `README links above the repository root: ${target}`);
    }
  });

  for (const page of PAGES) {
    it(`every relative link in ${page} names a file that exists`, () => {
      for (const target of linkTargets(readFileSync(join(ROOT, page), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(dirname(join(ROOT, page)), target.split('#')[0]);
        assert.ok(existsSync(path), `${page} links to ${target}, which does not exist`);
        assert.ok(!relative(ROOT, path).startsWith('..'), `${page} links above the repository root: ${target}`);
      }
    });
  }
});
