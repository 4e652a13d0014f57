/**
 * Through a real nginx running the documented recipe: when authgate cannot know the original request (its
 * trustedProxies do not list nginx, or nginx's check sends no X-Forwarded-Uri), nothing protected gets in.
 * A denied path is 403, never let through, and a signed-out browser is not served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { nginxAvailable, startNginxForwardAuthStack, type NginxForwardAuthStack } from '../helpers/nginx.js';

const skip = nginxAvailable() ? false : 'nginx with http_auth_request_module is not installed (apt-get install nginx)';

/** The forward-auth warnings the gateway logged. */
function forwardAuthWarnings(stack: NginxForwardAuthStack) {
  return stack.gateway.logEntries().filter((e) => e.level === 'warn' && String(e.msg).startsWith('forward-auth:'));
}

describe('nginx recipe, authgate\'s trustedProxies not listing nginx', { skip }, () => {
  let stack: NginxForwardAuthStack;
  let bob: BrowserClient;
  before(async () => {
    stack = await startNginxForwardAuthStack({
      trustedProxies: ['10.0.0.0/8'],
      upstreams: [
        { name: 'app', path: '/' },
        { name: 'admin', path: '/admin', allow: { groups: ['admins'] } },
        { name: 'public', path: '/public', auth: 'public' },
      ],
    });
    // Sign-in itself goes through nginx to authgate; only the checks fail.
    bob = new BrowserClient();
    const landed = (await bob.login(`${stack.nginx.url}/oauth2/start?rd=/`, 'bob')).response;
    assert.equal(landed?.status, 403, 'bob lands on "/" refused');
    await landed?.body?.cancel();
  });
  after(() => stack?.close());

  it('a denied path is 403 for a signed-in user, never let through to the app', async () => {
    for (const path of ['/admin/panel', '/admin', '/reports']) {
      const answer = await bob.fetch(`${stack.nginx.url}${path}`);
      assert.equal(answer.status, 403, path);
      await answer.body?.cancel();
    }
    assert.equal(stack.upstream.requests.length, 0, 'nothing reached the app');
  });

  it('a signed-out browser does not get in (403, not a page of the app)', async () => {
    for (const path of ['/', '/admin/panel', '/reports?x=1']) {
      for (const accept of ['text/html', 'application/json']) {
        const answer = await fetch(`${stack.nginx.url}${path}`, { headers: { accept }, redirect: 'manual' });
        assert.equal(answer.status, 403, `${path} ${accept}`);
        await answer.body?.cancel();
      }
    }
    assert.equal(stack.upstream.requests.length, 0, 'nothing reached the app');
  });

  it('the gateway says why once: nginx\'s address must be listed in server.trustedProxies', () => {
    const warnings = forwardAuthWarnings(stack);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]?.peer, '127.0.0.1');
    assert.match(String(warnings[0]?.msg), /server\.trustedProxies/);
  });
});

/** A trusted nginx whose check forgets the original URI: only a bare proxy_pass to /oauth2/auth. */
function bareCheckServer(port: number): string {
  return `
server {
  listen 127.0.0.1:${port};
  server_name _;
  location = /_bare_auth {
    internal;
    proxy_pass http://authgate/oauth2/auth;
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
  }
  location / {
    auth_request /_bare_auth;
    proxy_pass http://app;
  }
}
`;
}

describe('a trusted nginx whose check sends neither X-Forwarded-Uri nor X-Original-URL', { skip }, () => {
  let stack: NginxForwardAuthStack;
  before(async () => {
    stack = await startNginxForwardAuthStack({
      upstreams: [
        { name: 'app', path: '/', auth: 'public' },
        { name: 'admin', path: '/admin', allow: { groups: ['admins'] } },
      ],
      extraServers: { count: 1, config: ([port]) => bareCheckServer(port) },
    });
  });
  after(() => stack?.close());

  it('a protected path is 403, not judged as the public "/" and let through', async () => {
    const bare = stack.extraUrls[0];
    for (const path of ['/admin/panel', '/admin', '/']) {
      const answer = await fetch(`${bare}${path}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      assert.equal(answer.status, 403, path);
      await answer.body?.cancel();
    }
    assert.equal(stack.upstream.requests.length, 0, 'nothing reached the app');
    const warnings = forwardAuthWarnings(stack);
    assert.deepEqual(warnings.map((w) => [w.cause, w.peer]), [['no-original-uri', '127.0.0.1']]);
    assert.match(String(warnings[0]?.msg), /X-Forwarded-Uri/);
  });

  it('the documented recipe on the same nginx still works: the public "/" is served', async () => {
    const answer = await fetch(`${stack.nginx.url}/`);
    assert.equal(answer.status, 200);
    await answer.body?.cancel();
  });
});
