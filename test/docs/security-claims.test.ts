/**
 * docs/security.md is a list of promises, each naming the test that proves it. This keeps the page honest:
 * every promise names at least one test file and one test, every named file exists, and every named test
 * (or describe block) is written in that file, so a renamed or deleted test cannot leave a promise unproved.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/gateway.js';

const PAGE = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');
const START = '## What authgate promises';
const END = '## What authgate does not promise';

/** The bullets of the promises section, each joined onto one line. */
function promises(): string[] {
  const from = PAGE.indexOf(START);
  const to = PAGE.indexOf(END);
  assert.ok(from !== -1 && to > from, 'docs/security.md has both sections');
  const bullets: string[] = [];
  for (const line of PAGE.slice(from, to).split('\n')) {
    if (line.startsWith('- ')) bullets.push(line);
    else if (line.startsWith('  ') && bullets.length > 0) bullets[bullets.length - 1] += ` ${line.trim()}`;
  }
  return bullets;
}

/** The test files a bullet names and the test names quoted after each. */
function citations(bullet: string): Array<{ file: string; names: string[] }> {
  const tail = bullet.slice(Math.max(0, bullet.indexOf('`test/')));
  const out: Array<{ file: string; names: string[] }> = [];
  for (const match of tail.matchAll(/`(test\/[\w/.-]+\.test\.ts)`|"([^"]+)"/g)) {
    if (match[1] !== undefined) out.push({ file: match[1], names: [] });
    else if (match[2] !== undefined) out.at(-1)?.names.push(match[2]);
  }
  return out;
}

describe('docs/security.md', () => {
  const bullets = promises();

  it('lists promises (the parser finds them)', () => {
    assert.ok(bullets.length >= 30, `only ${bullets.length} promises found`);
  });

  it('names, for every promise, a test file that exists and tests written in it', () => {
    const problems: string[] = [];
    for (const bullet of bullets) {
      const cited = citations(bullet);
      const label = bullet.slice(2, 70);
      if (cited.length === 0) problems.push(`${label}…: names no test file`);
      for (const { file, names } of cited) {
        if (!existsSync(join(ROOT, file))) {
          problems.push(`${label}…: ${file} does not exist`);
          continue;
        }
        if (names.length === 0) problems.push(`${label}…: names no test in ${file}`);
        const text = readFileSync(join(ROOT, file), 'utf8');
        for (const name of names) if (!text.includes(name)) problems.push(`${label}…: "${name}" is not in ${file}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
