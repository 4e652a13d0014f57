/**
 * The access policy as a pure function: the route's auth mode first (public / optional / required), then
 * every given allow list (emails, emailDomains, groups, claims) must pass; each refusal names its reason,
 * which decides 401 versus 403 downstream.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema, type AllowRule } from '../../src/config/schema.js';
import { emailDomain, evaluatePolicy, type Decision } from '../../src/policy/evaluate.js';
import type { Identity } from '../../src/identity.js';

/** An allow rule exactly as the configuration schema produces it (defaults for every list not given). */
function allowRule(allow: Record<string, unknown> = {}): AllowRule {
  const config = configSchema.parse({
    server: { publicUrl: 'https://app.example.com' },
    oidc: { issuer: 'https://idp.example.com', clientId: 'gateway', clientSecret: 'secret' },
    session: { keys: [Buffer.alloc(32, 1).toString('base64')] },
    upstreams: [{ name: 'app', url: 'http://127.0.0.1:3000', allow }],
  });
  const upstream = config.upstreams[0];
  assert.ok(upstream);
  return upstream.allow;
}

function identity(overrides: Partial<Identity> = {}): Identity {
  return { sub: 'user-1', email: 'alice@example.com', groups: [], claims: {}, ...overrides };
}

const ALLOWED: Decision = { allow: true, reason: 'allowed' };

describe('evaluatePolicy: the auth mode', () => {
  const cases: { name: string; auth: 'public' | 'optional' | 'required'; who: Identity | undefined; allow: Record<string, unknown>; want: Decision }[] = [
    { name: 'public without identity', auth: 'public', who: undefined, allow: {}, want: { allow: true, reason: 'public' } },
    { name: 'public with identity', auth: 'public', who: identity(), allow: {}, want: { allow: true, reason: 'public' } },
    {
      name: 'public ignores allow lists it could not check',
      auth: 'public',
      who: undefined,
      allow: { emails: ['bob@example.com'] },
      want: { allow: true, reason: 'public' },
    },
    { name: 'optional without identity', auth: 'optional', who: undefined, allow: {}, want: { allow: true, reason: 'anonymous-optional' } },
    { name: 'optional with identity', auth: 'optional', who: identity(), allow: {}, want: ALLOWED },
    {
      name: 'optional with an identity the allow lists refuse',
      auth: 'optional',
      who: identity({ email: 'mallory@example.com' }),
      allow: { emails: ['alice@example.com'] },
      want: { allow: false, reason: 'email-not-listed' },
    },
    { name: 'required without identity', auth: 'required', who: undefined, allow: {}, want: { allow: false, reason: 'unauthenticated' } },
    {
      name: 'required without identity reports unauthenticated before any list',
      auth: 'required',
      who: undefined,
      allow: { emails: ['alice@example.com'], groups: ['admins'] },
      want: { allow: false, reason: 'unauthenticated' },
    },
    { name: 'required with identity and empty allow (any signed-in user)', auth: 'required', who: identity(), allow: {}, want: ALLOWED },
    {
      name: 'required with identity and no email, empty allow',
      auth: 'required',
      who: identity({ email: undefined }),
      allow: {},
      want: ALLOWED,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(evaluatePolicy(c.auth, allowRule(c.allow), c.who), c.want);
    });
  }
});

describe('evaluatePolicy: emails', () => {
  const allow = { emails: ['Alice@Example.com', 'bob@example.com'] };
  const cases: { email: string | undefined; want: Decision }[] = [
    { email: 'alice@example.com', want: ALLOWED },
    { email: 'ALICE@EXAMPLE.COM', want: ALLOWED },
    { email: 'Bob@Example.Com', want: ALLOWED },
    { email: 'carol@example.com', want: { allow: false, reason: 'email-not-listed' } },
    { email: 'alice@example.com.evil.com', want: { allow: false, reason: 'email-not-listed' } },
    { email: 'xalice@example.com', want: { allow: false, reason: 'email-not-listed' } },
    { email: ' alice@example.com', want: { allow: false, reason: 'email-not-listed' } },
    { email: '', want: { allow: false, reason: 'email-not-listed' } },
    { email: undefined, want: { allow: false, reason: 'email-not-listed' } },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.email) ?? 'missing email'} → ${c.want.reason}`, () => {
      assert.deepEqual(evaluatePolicy('required', allowRule(allow), identity({ email: c.email })), c.want);
    });
  }
});

describe('evaluatePolicy: emailDomains', () => {
  const allow = { emailDomains: ['Example.com', 'corp.example.org'] };
  const denied: Decision = { allow: false, reason: 'email-domain' };
  const cases: { email: string | undefined; want: Decision }[] = [
    { email: 'alice@example.com', want: ALLOWED },
    { email: 'alice@EXAMPLE.COM', want: ALLOWED },
    { email: 'Alice@Example.Com', want: ALLOWED },
    { email: 'bob@corp.example.org', want: ALLOWED },
    { email: 'x@evil.example.com', want: denied },
    { email: 'x@example.com.evil.com', want: denied },
    { email: 'x@notexample.com', want: denied },
    { email: 'x@example.org', want: denied },
    { email: 'a@b@example.com', want: denied },
    { email: 'example.com@evil.com', want: denied },
    { email: '@example.com', want: denied },
    { email: 'alice@', want: denied },
    { email: 'example.com', want: denied },
    { email: '', want: denied },
    { email: undefined, want: denied },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.email) ?? 'missing email'} → ${c.want.reason}`, () => {
      assert.deepEqual(evaluatePolicy('required', allowRule(allow), identity({ email: c.email })), c.want);
    });
  }
});

describe('emailDomain', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['alice@example.com', 'example.com'],
    ['alice@Sub.EXAMPLE.com', 'sub.example.com'],
    ['a@b@example.com', undefined],
    ['@example.com', undefined],
    ['alice@', undefined],
    ['alice', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [email, want] of cases) {
    it(`${JSON.stringify(email) ?? 'undefined'} → ${String(want)}`, () => {
      assert.equal(emailDomain(email), want);
    });
  }
});

describe('evaluatePolicy: groups (any of)', () => {
  const allow = { groups: ['admins', 'ops'] };
  const denied: Decision = { allow: false, reason: 'not-in-group' };
  const cases: { name: string; groups: string[]; want: Decision }[] = [
    { name: 'in the first group', groups: ['admins'], want: ALLOWED },
    { name: 'in the second group among others', groups: ['staff', 'ops'], want: ALLOWED },
    { name: 'in both', groups: ['ops', 'admins'], want: ALLOWED },
    { name: 'in no group', groups: [], want: denied },
    { name: 'in other groups only', groups: ['staff', 'users'], want: denied },
    { name: 'a group whose name contains a wanted one', groups: ['admins-readonly', 'xops'], want: denied },
    { name: 'a comma-joined string is not membership', groups: ['admins,ops'], want: denied },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(evaluatePolicy('required', allowRule(allow), identity({ groups: c.groups })), c.want);
    });
  }
});

describe('evaluatePolicy: claims', () => {
  const denied: Decision = { allow: false, reason: 'claim-mismatch' };
  const cases: { name: string; wanted: Record<string, unknown>; claims: Record<string, unknown>; want: Decision }[] = [
    { name: 'string equality', wanted: { tenant: 'acme' }, claims: { tenant: 'acme' }, want: ALLOWED },
    { name: 'string inequality', wanted: { tenant: 'acme' }, claims: { tenant: 'globex' }, want: denied },
    { name: 'strings compare case-sensitively', wanted: { tenant: 'acme' }, claims: { tenant: 'ACME' }, want: denied },
    { name: 'membership when the claim is an array', wanted: { roles: 'editor' }, claims: { roles: ['viewer', 'editor'] }, want: ALLOWED },
    { name: 'array claim without the value', wanted: { roles: 'editor' }, claims: { roles: ['viewer', 'admin'] }, want: denied },
    { name: 'empty array claim', wanted: { roles: 'editor' }, claims: { roles: [] }, want: denied },
    { name: 'wanted list: claim equals one of them', wanted: { tenant: ['acme', 'globex'] }, claims: { tenant: 'globex' }, want: ALLOWED },
    { name: 'wanted list: claim equals none', wanted: { tenant: ['acme', 'globex'] }, claims: { tenant: 'initech' }, want: denied },
    { name: 'wanted list and array claim intersect', wanted: { roles: ['admin', 'editor'] }, claims: { roles: ['viewer', 'editor'] }, want: ALLOWED },
    { name: 'wanted list and array claim disjoint', wanted: { roles: ['admin', 'editor'] }, claims: { roles: ['viewer'] }, want: denied },
    { name: 'number equals number', wanted: { level: 1 }, claims: { level: 1 }, want: ALLOWED },
    { name: 'strict types: "1" does not match 1', wanted: { level: 1 }, claims: { level: '1' }, want: denied },
    { name: 'strict types: 1 does not match "1"', wanted: { level: '1' }, claims: { level: 1 }, want: denied },
    { name: 'strict types: "1" inside an array claim does not match 1', wanted: { level: 1 }, claims: { level: ['1'] }, want: denied },
    { name: 'boolean equals boolean', wanted: { email_verified: true }, claims: { email_verified: true }, want: ALLOWED },
    { name: 'strict types: "true" does not match true', wanted: { email_verified: true }, claims: { email_verified: 'true' }, want: denied },
    { name: 'strict types: true does not match "true"', wanted: { email_verified: 'true' }, claims: { email_verified: true }, want: denied },
    { name: 'false does not match true', wanted: { email_verified: true }, claims: { email_verified: false }, want: denied },
    { name: 'missing claim', wanted: { tenant: 'acme' }, claims: {}, want: denied },
    { name: 'null claim', wanted: { tenant: 'acme' }, claims: { tenant: null }, want: denied },
    { name: 'object claim is not equal to a string', wanted: { tenant: 'acme' }, claims: { tenant: { name: 'acme' } }, want: denied },
    { name: 'a claim named like an Object.prototype member', wanted: { constructor: 'x' }, claims: {}, want: denied },
    { name: 'every claim must match (both do)', wanted: { tenant: 'acme', level: 2 }, claims: { tenant: 'acme', level: 2 }, want: ALLOWED },
    { name: 'every claim must match (one does not)', wanted: { tenant: 'acme', level: 2 }, claims: { tenant: 'acme', level: 3 }, want: denied },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(evaluatePolicy('required', allowRule({ claims: c.wanted }), identity({ claims: c.claims })), c.want);
    });
  }
});

describe('evaluatePolicy: all given lists must pass together', () => {
  const allow = {
    emails: ['alice@example.com', 'bob@other.org'],
    emailDomains: ['example.com'],
    groups: ['admins'],
    claims: { tenant: 'acme' },
  };
  const good = identity({ email: 'alice@example.com', groups: ['admins'], claims: { tenant: 'acme' } });
  const cases: { name: string; who: Identity; want: Decision }[] = [
    { name: 'passes every list', who: good, want: ALLOWED },
    { name: 'fails only emails', who: { ...good, email: 'carol@example.com' }, want: { allow: false, reason: 'email-not-listed' } },
    { name: 'fails only emailDomains (listed email on another domain)', who: { ...good, email: 'bob@other.org' }, want: { allow: false, reason: 'email-domain' } },
    { name: 'fails only groups', who: { ...good, groups: ['users'] }, want: { allow: false, reason: 'not-in-group' } },
    { name: 'fails only claims', who: { ...good, claims: { tenant: 'globex' } }, want: { allow: false, reason: 'claim-mismatch' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(evaluatePolicy('required', allowRule(allow), c.who), c.want);
    });
  }

  it('a group list alone still lets any email through', () => {
    assert.deepEqual(evaluatePolicy('required', allowRule({ groups: ['admins'] }), identity({ email: undefined, groups: ['admins'] })), ALLOWED);
  });

  it('a domain list alone does not require the email to be listed', () => {
    assert.deepEqual(evaluatePolicy('required', allowRule({ emailDomains: ['example.com'] }), identity({ email: 'zed@example.com' })), ALLOWED);
  });
});
