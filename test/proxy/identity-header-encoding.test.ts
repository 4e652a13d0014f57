/**
 * Identity headers are unambiguous and never break a request: for users whose names, emails and groups are in
 * any script (Cyrillic, CJK, Arabic, emoji) or carry commas, semicolons, quotes, "%" and control characters,
 * every proxied request is 200 and each X-Forwarded-* identity header percent-decodes to the original
 * (X-Forwarded-Groups item by item), over HTTP and on a WebSocket upgrade alike.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startStack, type Stack } from '../helpers/gateway.js';
import type { IdpUser } from '../helpers/idp.js';
import { openWebSocket, startRecordingWsUpstream, type RecordingWsUpstream } from './ws-fixtures.js';

const USERS: IdpUser[] = [
  {
    sub: 'иван',
    email: 'иван@пример.рф',
    emailVerified: true,
    preferredUsername: 'Иван Петров',
    name: 'Иван',
    groups: ['Администраторы', 'Разработчики, бэкенд'],
  },
  { sub: '山田太郎', email: 'yamada@例え.jp', emailVerified: true, preferredUsername: '山田', name: '山田', groups: ['開発者', '管理者'] },
  { sub: 'محمد', email: 'mohammed@example.com', emailVerified: true, preferredUsername: 'محمد علي', name: 'محمد', groups: ['مشرفون'] },
  { sub: 'fox🦊', email: 'fox@example.com', emailVerified: true, preferredUsername: '👩‍💻 dev', name: 'Fox', groups: ['🚀 launch', 'plain'] },
  {
    sub: 'o"brien;x',
    email: '"quoted, local"@example.com',
    emailVerified: true,
    preferredUsername: ' padded\ttab\u0001ctl ',
    name: 'OB',
    groups: ['admins,staff', 'a;b', '"q"', '100%', 'line\r\nInjected: yes', 'é Latin-1', ''],
  },
];

/** Percent-decodes a header value as an app would. */
const decode = (value: unknown) => decodeURIComponent(String(value));

/** Asserts the identity headers decode to `user`'s identity. */
function assertIdentity(headers: IncomingHttpHeaders | Record<string, unknown>, user: IdpUser, where: string): void {
  assert.equal(decode(headers['x-forwarded-user']), user.sub, `${where}: user`);
  assert.equal(decode(headers['x-forwarded-email']), user.email, `${where}: email`);
  assert.equal(decode(headers['x-forwarded-preferred-username']), user.preferredUsername, `${where}: preferred username`);
  assert.deepEqual(String(headers['x-forwarded-groups']).split(',').map(decodeURIComponent), user.groups, `${where}: groups`);
  assert.equal(headers['injected'], undefined, `${where}: a header was injected`);
}

describe('identity headers for names and groups in any script or with separators', () => {
  let stack: Stack;
  let ws: RecordingWsUpstream;

  before(async () => {
    ws = await startRecordingWsUpstream();
    stack = await startStack({
      idp: { users: USERS },
      configure: (c) => {
        c.upstreams.unshift({ name: 'ws', path: '/ws', url: ws.url });
      },
    });
  });
  after(async () => {
    await stack.close();
    await ws.close();
  });

  for (const user of USERS) {
    it(`${JSON.stringify(user.sub)}: every request 200, headers decode to the original, a WebSocket opens with them`, async () => {
      const browser = await stack.signIn(user.sub);
      for (const path of ['/x', '/api/data?q=1']) {
        const response = await browser.fetch(`${stack.publicUrl}${path}`, { headers: { accept: 'application/json' } });
        assert.equal(response.status, 200, `${path}: ${await response.text()}`);
        assertIdentity(stack.upstream.last()?.headers ?? {}, user, path);
      }
      const upgrade = ws.nextUpgrade();
      const socket = await openWebSocket(`${stack.publicUrl.replace('http', 'ws')}/ws/live`, {
        cookie: browser.jar.cookieHeader(`${stack.publicUrl}/ws/live`) ?? '',
      });
      assertIdentity(await upgrade, user, 'websocket');
      assert.equal(await socket.echo('ping'), 'ping');
      socket.ws.close();
    });
  }

  it('a plain ASCII identity goes unchanged (alice)', async () => {
    stack.idp.addUser({ sub: 'alice', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice', name: 'Alice', groups: ['admins', 'staff'] });
    const alice = await stack.signIn('alice');
    const response = await alice.fetch(`${stack.publicUrl}/x`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 200);
    const seen = stack.upstream.last()?.headers ?? {};
    assert.equal(seen['x-forwarded-user'], 'alice');
    assert.equal(seen['x-forwarded-email'], 'alice@example.com');
    assert.equal(seen['x-forwarded-groups'], 'admins,staff');
  });
});
