// The bounded map behind the cookie store's logout list and claimed logout-token ids.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ExpiringMap } from '../../src/session/expiring-map.js';

describe('ExpiringMap', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('serves an entry until its time is up, then forgets it', () => {
    const map = new ExpiringMap<string, number>({ max: 10 });
    map.set('a', 1, 1000);
    mock.timers.tick(999);
    assert.equal(map.get('a'), 1);
    assert.equal(map.has('a'), true);
    mock.timers.tick(1);
    assert.equal(map.get('a'), undefined);
    assert.equal(map.has('a'), false);
    assert.equal(map.size, 0);
  });

  it('past max, forgets the entry written longest ago; writing a key again makes it the newest', () => {
    const map = new ExpiringMap<string, number>({ max: 3 });
    map.set('a', 1, 60_000);
    map.set('b', 2, 60_000);
    map.set('c', 3, 60_000);
    map.set('a', 10, 60_000);
    map.set('d', 4, 60_000);
    assert.deepEqual(['a', 'b', 'c', 'd'].map((k) => map.get(k)), [10, undefined, 3, 4]);
    assert.equal(map.size, 3);
  });

  it('a write sweeps expired entries from the oldest end, so a long-lived list does not hold them', () => {
    const map = new ExpiringMap<string, number>({ max: 100 });
    for (let i = 0; i < 50; i++) map.set(`old-${i}`, i, 1000);
    mock.timers.tick(1000);
    map.set('new', 1, 1000);
    assert.equal(map.size, 1);
    assert.equal(map.get('new'), 1);
  });
});
