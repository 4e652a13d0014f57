/**
 * Step-up, attacked from outside (docs/step-up.md): every spelling of a step-up path a proxy can report to
 * forward-auth (encodings, dot segments, double slashes, case, ;params, X-Original-URL), methods a guard
 * might forget (HEAD, OPTIONS, POST), bearer tokens whose acr or auth_time are of the wrong type, a replayed
 * step-up callback, the old cookie of a session that was upgraded (cookie store), and acr values that would
 * break out of the challenge header. What an attacker sees is asserted: the status, the challenge, and that
 * the upstream saw nothing.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import type { Stack } from '../helpers/gateway.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';
import { forge, now, withBearers } from '../routes/bearer-fixtures.js';
import { load, minimalTree, problemsOf } from '../config/fixtures.js';
import { ACR_MFA, locationOf, MFA_CHALLENGE, RECENT_CHALLENGE, RECENT_SECONDS, sessionOf, startStepUpStack } from '../login/step-up-fixtures.js';

const JSON_ACCEPT = { accept: 'application/json' };

/** A GET with the path exactly as written (fetch would resolve dot segments first), as a proxy may pass it. */
function rawRequest(base: string, path: string, cookie: string): Promise<{ status: number; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = httpRequest({ host: url.hostname, port: url.port, path, agent: false, headers: { accept: 'application/json', cookie } });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('step-up paths as forward-auth hears them', () => {
  let stack: Stack;
  let alice: BrowserClient;
  before(async () => {
    stack = await startStepUpStack({ configure: withBearers() });
    alice = await stack.signIn('alice', '/');
  });
  after(() => stack.close());

  const check = (headers: Record<string, string>) => alice.fetch(`${stack.publicUrl}/oauth2/auth`, { headers: { ...JSON_ACCEPT, ...headers } });

  it('every spelling of a step-up path gets the challenge or a 400, never 202', async () => {
    const host = new URL(stack.publicUrl).host;
    assert.equal((await check({ 'x-forwarded-uri': '/plain' })).status, 202, 'the signed-in session passes a plain route');
    const spellings = [
      '/mfa',
      '/mfa/',
      '/mfa/x',
      '/MFA/x',
      '/Mfa/X',
      '/%6Dfa/x',
      '/%6dfa/x',
      '//mfa/x',
      '/mfa//x',
      '/./mfa/x',
      '/plain/../mfa/x',
      '/plain/%2E%2E/mfa/x',
      '/plain/%2e%2e/mfa',
      '/mfa;jsessionid=1/x',
      '/mfa;/x',
      '/mfa?x=/plain',
      '/mfa/x#/plain',
    ];
    let challenged = 0;
    for (const uri of spellings) {
      const reports: Array<Record<string, string>> = [{ 'x-forwarded-uri': uri, 'x-forwarded-host': host }, { 'x-original-url': `${stack.publicUrl}${uri}` }, { 'x-original-url': uri }];
      for (const headers of reports) {
        const answer = await check(headers);
        assert.ok(answer.status === 401 || answer.status === 400, `${JSON.stringify(headers)} answered ${answer.status}`);
        if (answer.status === 401) {
          assert.equal(answer.headers.get('www-authenticate'), MFA_CHALLENGE, JSON.stringify(headers));
          challenged++;
        } else assert.ok(uri.includes('#'), `${JSON.stringify(headers)}: only a fragment is refused with 400`);
      }
    }
    assert.ok(challenged >= (spellings.length - 1) * 3, `${challenged} spellings challenged`);
    for (const uri of ['/plain/..%2Fmfa/x', '/plain%2F..%2Fmfa', '/plain/..%5Cmfa', '/plain\\..\\mfa']) {
      assert.equal((await check({ 'x-forwarded-uri': uri })).status, 400, uri);
    }
  });

  it('the Envoy form of forward-auth judges every spelling of the step-up path the same way', async () => {
    const cookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    assert.equal((await rawRequest(stack.publicUrl, '/oauth2/auth/plain', cookie)).status, 200, 'the session passes a plain route');
    for (const path of ['/oauth2/auth/mfa/x', '/oauth2/auth//mfa/x', '/oauth2/auth/%6Dfa/x', '/oauth2/auth/MFA/x', '/oauth2/auth/plain/../mfa/x', '/oauth2/auth/plain/%2e%2e/mfa/x', '/oauth2/auth/mfa;x=1/y', '/oauth2/auth/./mfa']) {
      const answer = await rawRequest(stack.publicUrl, path, cookie);
      assert.ok(answer.status === 401 || answer.status === 400, `${path} answered ${answer.status}`);
      if (answer.status === 401) assert.equal(answer.challenge, MFA_CHALLENGE, path);
    }
  });

  it('a plain X-Forwarded-Uri with a step-up X-Original-URL beside it is judged by both', async () => {
    const answer = await check({ 'x-forwarded-uri': '/plain', 'x-forwarded-host': new URL(stack.publicUrl).host, 'x-original-url': `${stack.publicUrl}/mfa/x` });
    assert.equal(answer.status, 401);
    assert.equal(answer.headers.get('www-authenticate'), MFA_CHALLENGE);
  });

  it('HEAD, OPTIONS and POST on a step-up route get the challenge and reach nothing', async () => {
    for (const method of ['HEAD', 'OPTIONS', 'POST', 'DELETE']) {
      const seen = stack.upstream.requests.length;
      const answer = await alice.fetch(`${stack.publicUrl}/mfa/x`, { method, headers: { ...JSON_ACCEPT, origin: stack.publicUrl, 'access-control-request-method': 'GET' } });
      assert.equal(answer.status, 401, method);
      assert.equal(answer.headers.get('www-authenticate'), MFA_CHALLENGE, method);
      assert.equal(stack.upstream.requests.length, seen, `${method}: the upstream saw nothing`);
    }
  });

  it('a bearer acr that is a list, a number or an object meets no acr rule', async () => {
    const call = async (claims: Record<string, unknown>, path = '/mfa/x') => {
      const seen = stack.upstream.requests.length;
      const answer = await fetch(`${stack.publicUrl}${path}`, { headers: { ...JSON_ACCEPT, authorization: `Bearer ${await forge(stack, claims)}` } });
      if (answer.status !== 200) assert.equal(stack.upstream.requests.length, seen, 'a refused call reaches nothing');
      return answer;
    };
    assert.equal((await call({ acr: ACR_MFA })).status, 200, 'the string acr passes');
    for (const acr of [[ACR_MFA], [ACR_MFA, 'x'], 1, 0, true, { value: ACR_MFA }, `${ACR_MFA} `, ` ${ACR_MFA}`, ACR_MFA.toUpperCase(), '']) {
      const answer = await call({ acr });
      assert.equal(answer.status, 401, `acr ${JSON.stringify(acr)}`);
      assert.equal(answer.headers.get('www-authenticate'), MFA_CHALLENGE);
    }
    // auth_time: a number of seconds; a string, a boolean, a list, an old float or one in the future (beyond
    // the 60 s clock skew: it would stay recent until then) fail; a recent float passes. Not +61: now() is
    // whole seconds, so by the time the gateway looks, +61 can be 60 s ahead or less, inside the skew.
    for (const authTime of [String(now()), `${now()}.0`, true, [now()], { t: now() }, null, now() - RECENT_SECONDS - 120.5, now() + 3600, now() + 120]) {
      const answer = await call({ auth_time: authTime }, '/recent/x');
      assert.equal(answer.status, 401, `auth_time ${JSON.stringify(authTime)}`);
      assert.equal(answer.headers.get('www-authenticate'), RECENT_CHALLENGE);
    }
    assert.equal((await call({ auth_time: now() - 10.5 }, '/recent/x')).status, 200);
  });
});

describe('a step-up callback replayed, and the cookie of the session before the upgrade', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStepUpStack();
  });
  after(() => stack.close());

  it('a replayed step-up callback upgrades nothing, for the same browser or another', async () => {
    const alice = await stack.signIn('alice', '/');
    const weakCookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    const result = await alice.login(`${stack.publicUrl}/mfa/x`, 'alice');
    assert.equal(result.response?.status, 200);
    const upgraded = await sessionOf(stack, alice);
    assert.equal(upgraded?.acr, ACR_MFA);

    // The same browser replays the callback URL: the transaction is spent.
    const replay = await alice.fetch(result.callbackUrl, { headers: { accept: 'text/html' } });
    assert.notEqual(replay.status, 302, 'no redirect to the target as after a login');
    const after = await sessionOf(stack, alice);
    assert.equal(after?.id, upgraded?.id, 'the session is the same one');

    // Another browser holding the weak cookie replays it: no transaction, nothing upgraded.
    const mallory = new BrowserClient();
    const other = await mallory.fetch(result.callbackUrl, { headers: { accept: 'text/html', cookie: weakCookie } });
    assert.notEqual(other.status, 302);
    const malloryCookie = mallory.jar.cookieHeader(stack.publicUrl) ?? '';
    const sessions = [await sessionOf(stack, weakCookie), malloryCookie === '' ? null : await sessionOf(stack, malloryCookie)];
    for (const session of sessions) assert.notEqual(session?.acr, ACR_MFA, 'no strong session came of the replay');
  });

  it('the cookie taken before an upgrade still meets no step-up rule after it', async () => {
    const alice = await stack.signIn('alice', '/');
    const weakCookie = alice.jar.cookieHeader(stack.publicUrl) ?? '';
    stack.idp.stepUp.setLoginAcr(ACR_MFA);
    assert.equal((await alice.login(`${stack.publicUrl}/mfa/x`, 'alice')).response?.status, 200);
    assert.equal((await alice.fetch(`${stack.publicUrl}/mfa/y`, { headers: JSON_ACCEPT })).status, 200, 'the upgraded session passes');

    const seen = stack.upstream.requests.length;
    const old = await fetch(`${stack.publicUrl}/mfa/y`, { headers: { ...JSON_ACCEPT, cookie: weakCookie } });
    assert.equal(old.status, 401);
    assert.equal(old.headers.get('www-authenticate'), MFA_CHALLENGE);
    const navigation = await fetch(`${stack.publicUrl}/mfa/y`, { headers: { accept: 'text/html', cookie: weakCookie }, redirect: 'manual' });
    assert.equal(navigation.status, 302, 'a browser with the old cookie is sent to a step-up login');
    assert.equal(locationOf(navigation).searchParams.get('acr_values'), ACR_MFA);
    assert.equal(stack.upstream.requests.length, seen, 'the upstream saw nothing');
  });
});

describe('acr values that would break the challenge header', () => {
  it('are refused at configuration load: quotes, spaces, backslash, controls, non-ASCII, empty', () => {
    for (const acr of ['urn:a" , error="x', 'urn:a b', 'urn:a\\', 'urn:a\r\nSet-Cookie: x=1', 'urn:mfa\t', 'urn:méthode', 'urn:\u2028', '']) {
      const tree = minimalTree();
      tree.upstreams[0].allow = { acr: [acr] };
      const problems = problemsOf(tree);
      assert.ok(problems.some((p) => p.includes('acr')), `${JSON.stringify(acr)} refused: ${problems.join('; ')}`);
    }
    const tree = minimalTree();
    tree.upstreams[0].allow = { acr: ['urn:ok:1', 'phr'] };
    assert.deepEqual(load(tree).upstreams[0]?.allow.acr, ['urn:ok:1', 'phr']);
  });
});

describe('step-up and a session from another provider', () => {
  let stack: TwoProviderStack;
  before(async () => {
    stack = await startTwoProviders({
      partners: { stepUp: { requireAuthTime: true } },
      configure: (tree) => {
        const upstreams = tree.upstreams as Array<Record<string, unknown>>;
        const url = upstreams[0]?.url;
        upstreams.unshift({ name: 'corp-mfa', path: '/mfa', url, providers: ['corp'], allow: { acr: [ACR_MFA] } });
      },
    });
  });
  after(() => stack.close());

  it('a strong login at a provider the route does not accept passes no step-up rule there', async () => {
    stack.partners.stepUp.setLoginAcr(ACR_MFA);
    const mallory = await stack.signIn('partners', 'alice', '/');
    const api = await mallory.fetch(`${stack.publicUrl}/mfa/x`, { headers: JSON_ACCEPT });
    assert.equal(api.status, 401, 'no session there, strong or not');
    const navigation = await mallory.fetch(`${stack.publicUrl}/mfa/x`, { headers: { accept: 'text/html' } });
    assert.equal(navigation.status, 302);
    const location = locationOf(navigation);
    assert.notEqual(location.origin, new URL(stack.partners.issuer).origin, 'never a login at the provider the route refuses');
    // /oauth2/start for the route asks no upgrade of the partners session: at most a plain login at corp.
    const start = await mallory.fetch(`${stack.publicUrl}/oauth2/start?rd=%2Fmfa%2Fx&provider=partners`);
    assert.equal(start.status, 302);
    // Finishing that login at partners (strong) still opens nothing on the corp-only route.
    await mallory.login(new URL(start.headers.get('location') ?? ''), 'alice');
    const again = await mallory.fetch(`${stack.publicUrl}/mfa/y`, { headers: JSON_ACCEPT });
    assert.equal(again.status, 401);
    assert.equal(stack.upstream.requests.filter((r) => r.url.startsWith('/mfa')).length, 0, 'the step-up route saw nothing');
  });
});
