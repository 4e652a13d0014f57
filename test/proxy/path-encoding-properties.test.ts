/**
 * Properties of the route step (routeRequest, as the gateway runs it) over generated spellings: no encoding
 * of a path under a protected prefix routes anywhere but the protected upstream, every spelling of one path
 * reaches the upstream in one wire form, the canonical path is stable, and no input makes the step throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalPrefix, normaliseTarget, wirePath } from '../../src/url/normalise-path.js';
import { routeRequest } from '../../src/proxy/route-request.js';
import { buildTable } from './route-fixtures.js';
import { PROTECTED_PREFIXES, pathUnder, protectedSpelling, spellingOf } from './path-encodings.js';

const HOST = 'app.example.com';
// Weaker routes around each protected prefix: a public root, a public parent of /odata/$metadata, and
// public look-alikes that only a wrong decoding would confuse with a protected prefix.
const table = buildTable([
  { name: 'root', path: '/', auth: 'public' },
  { name: 'odata-public', path: '/odata', auth: 'public' },
  { name: 'literal-percent-public', path: '/%2540admin', auth: 'public' },
  { name: 'cafe-latin1-public', path: '/cafÃ©', auth: 'public' },
  ...PROTECTED_PREFIXES.map((path) => ({ name: protectedName(path), path, allow: { groups: ['admins'] } })),
]);
function protectedName(prefix: string): string {
  return `protected-${PROTECTED_PREFIXES.indexOf(prefix as (typeof PROTECTED_PREFIXES)[number])}`;
}
const RUNS = { numRuns: 2000, seed: 0x5eed };

describe('route step: every spelling of a path under a protected prefix', () => {
  it('routes to the protected upstream, judged on the one canonical path', () => {
    fc.assert(
      fc.property(protectedSpelling, ({ prefix, path, raw }) => {
        const decision = routeRequest(table, raw, HOST);
        assert.equal(decision.refusal, undefined, `${JSON.stringify(raw)} refused`);
        assert.equal(decision.upstream?.name, protectedName(prefix), `${JSON.stringify(raw)} → ${String(decision.upstream?.name)}`);
        assert.equal(normaliseTarget(raw)?.path, path, JSON.stringify(raw));
      }),
      RUNS,
    );
  });

  it('reaches the upstream in one wire form whatever the spelling', () => {
    const pathAndTwoSpellings = fc
      .constantFrom(...PROTECTED_PREFIXES)
      .chain(pathUnder)
      .chain((path) => fc.tuple(fc.constant(path), spellingOf(path), spellingOf(path)));
    fc.assert(
      fc.property(pathAndTwoSpellings, ([path, a, b]) => {
        const target = routeRequest(table, a, HOST).target;
        assert.equal(target, routeRequest(table, b, HOST).target, `${JSON.stringify(a)} and ${JSON.stringify(b)}`);
        assert.equal(target, wirePath(path));
      }),
      RUNS,
    );
  });
});

describe('route step: any input', () => {
  /** Request-line-like text: one char per byte, weighted towards what paths are made of. */
  const latin1Target = fc
    .array(
      fc.oneof(
        fc.constantFrom('/', '/', '.', '..', '%', '%2', '%2e', '%2F', '%5c', '%25', '%C3', '%A9', '%c0%af', ';', '?', '#', '\\', 'a', 'A', '@', ' '),
        fc.integer({ min: 0, max: 0xff }).map((b) => String.fromCharCode(b)),
      ),
      { maxLength: 24 },
    )
    .map((parts) => parts.join(''));
  const anyHost = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('app.example.com', 'APP.example.com.', 'a..b', 'x..', 'a b', 'u@h', 'h:99999', 'h:', '[::1]:8080', ''),
    fc.string({ maxLength: 12 }),
  );

  it('never throws: a refusal or a decision whose path reads back as itself', () => {
    fc.assert(
      fc.property(fc.oneof(latin1Target, fc.string({ unit: 'binary', maxLength: 24 })), anyHost, (raw, host) => {
        const decision = routeRequest(table, raw, host);
        if (decision.refusal) return;
        assert.ok(decision.path.startsWith('/'));
        assert.match(decision.path, /^[\x21-\x7e]*$/, 'the wire form is printable ASCII');
        assert.equal(normaliseTarget(decision.path)?.wire, decision.path);
      }),
      { numRuns: 5000, seed: 0x5eed },
    );
  });

  it('the canonical path is idempotent: its wire form reads back as the same path, configured or requested', () => {
    fc.assert(
      fc.property(fc.oneof(latin1Target, protectedSpelling.map((s) => s.raw)), (raw) => {
        const once = normaliseTarget(raw);
        if (!once) return;
        const again = normaliseTarget(once.wire);
        assert.deepEqual(again && { path: again.path, wire: again.wire }, { path: once.path, wire: once.wire });
        // A prefix configured as the wire form (or as the decoded text, when it has no "%") is the same prefix.
        const prefix = once.path.length > 1 && once.path.endsWith('/') ? once.path.slice(0, -1) : once.path;
        assert.equal(canonicalPrefix(once.wire), prefix);
        if (!/[%?#]/.test(once.path)) assert.equal(canonicalPrefix(once.path), prefix);
      }),
      { numRuns: 5000, seed: 0x5eed },
    );
  });
});
