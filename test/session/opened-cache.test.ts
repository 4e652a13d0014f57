// The cache of opened sealed texts: entries expire, and expired ones leave memory without being read again.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { OpenedCache } from '../../src/session/opened-cache.js';

/** A sealed-looking text: the cache keys on the last 32 characters (the nonce). */
const text = (i: number) => `cipher-${i}.${String(i).padStart(32, 'n')}`;

describe('OpenedCache', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('answers for the exact text it was given until its time is up', () => {
    const cache = new OpenedCache<{ n: number }>({ max: 10, ttlMs: 1000 });
    cache.set(text(1), { n: 1 });
    assert.deepEqual(cache.get(text(1)), { n: 1 });
    assert.equal(cache.get(`other${text(1)}`), undefined, 'same nonce, different text');
    mock.timers.tick(1000);
    assert.equal(cache.get(text(1)), undefined);
  });

  it('after a burst, the next write drops the entries whose time is up (tokens do not stay in memory)', () => {
    const cache = new OpenedCache<{ n: number }>({ max: 1000, ttlMs: 1000 });
    for (let i = 0; i < 100; i++) cache.set(text(i), { n: i });
    assert.equal(cache.size, 100);
    mock.timers.tick(1000);
    cache.set(text(500), { n: 500 });
    assert.equal(cache.size, 1);
    assert.deepEqual(cache.get(text(500)), { n: 500 });
  });

  it('keeps live entries when it sweeps', () => {
    const cache = new OpenedCache<{ n: number }>({ max: 1000, ttlMs: 1000 });
    cache.set(text(1), { n: 1 });
    mock.timers.tick(600);
    cache.set(text(2), { n: 2 });
    mock.timers.tick(600);
    cache.set(text(3), { n: 3 });
    assert.equal(cache.size, 2);
    assert.equal(cache.get(text(1)), undefined);
    assert.deepEqual([cache.get(text(2)), cache.get(text(3))], [{ n: 2 }, { n: 3 }]);
  });
});
