/**
 * Durations in the configuration: text with a unit or a number of seconds becomes milliseconds; anything
 * else is refused with a hint.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load, minimalTree, problemsOf } from './fixtures.js';

describe('durations', () => {
  const cases: [input: string | number, ms: number][] = [
    ['90s', 90_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['1d', 86_400_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    [90, 90_000],
    [0.25, 250],
    [0, 0],
    ['45', 45_000],
  ];
  for (const [input, ms] of cases) {
    it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      const tree = minimalTree();
      tree.upstreams[0].timeout = input;
      assert.equal(load(tree).upstreams[0]?.timeout, ms);
    });
  }

  for (const input of ['10 minutes', '5 s', '1w', -5, true, '']) {
    it(`refuses ${JSON.stringify(input)} with a hint`, () => {
      const tree = minimalTree();
      tree.session.refreshSkew = input;
      const problems = problemsOf(tree);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0] ?? '', /^session\.refreshSkew: .*(duration such as "90s"|must not be negative)/);
    });
  }
});
