/**
 * Through a real nginx running the documented recipe, users whose names and groups are in any script or
 * carry separators and control characters get in, and the app receives identity headers (copied by the
 * recipe's auth_request_set lines) that percent-decode to the provider's claims.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrowserClient } from '../helpers/browser-client.js';
import { demoUsers } from '../helpers/idp.js';
import { nginxAvailable, startNginxForwardAuthStack, type NginxForwardAuthStack } from '../helpers/nginx.js';
import type { RecordedRequest } from '../helpers/upstream.js';
import { UNUSUAL_USERS } from './identity-fixtures.js';

const skip = nginxAvailable() ? false : 'nginx with http_auth_request_module is not installed (apt-get install nginx)';

/** One header value as the app got it, percent-decoded. */
function decoded(echo: RecordedRequest, name: string): string {
  return decodeURIComponent(String(echo.headers[name]));
}

describe('nginx recipe: identity in any script reaches the app, decodable', { skip }, () => {
  let stack: NginxForwardAuthStack;
  before(async () => {
    stack = await startNginxForwardAuthStack({
      idp: { users: [...demoUsers, ...UNUSUAL_USERS] },
      upstreams: [{ name: 'app', path: '/' }],
    });
  });
  after(() => stack?.close());

  for (const user of UNUSUAL_USERS) {
    it(`${user.sub}: signs in through nginx and the app gets every header`, async () => {
      const browser = new BrowserClient();
      const landed = (await browser.login(`${stack.nginx.url}/reports?x=1`, user.sub)).response;
      assert.equal(landed?.status, 200);
      const echo = (await landed.json()) as RecordedRequest;
      assert.equal(echo.url, '/reports?x=1');
      assert.equal(decoded(echo, 'x-forwarded-user'), user.sub);
      assert.equal(decoded(echo, 'x-forwarded-email'), user.email);
      assert.equal(decoded(echo, 'x-forwarded-preferred-username'), user.preferredUsername);
      assert.deepEqual(String(echo.headers['x-forwarded-groups']).split(',').map((g) => decodeURIComponent(g)), user.groups);
    });
  }
});
