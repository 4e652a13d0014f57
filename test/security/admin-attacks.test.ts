/**
 * An outside attacker against the admin API (Redis store): malformed and doubled Authorization headers,
 * session ids that try to walk the path or name the user, `user` as an array or oversized, and a browser on
 * another site calling it (CORS). None of it may end a session or read one; a signed-in user stays signed in.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { ADMIN_TOKENS, signedIn, startAdminStack, type AdminStack } from '../admin/admin-fixtures.js';

/** A raw request to the admin API with the exact header lines given (fetch would merge duplicates). */
function rawAdmin(base: string, method: string, target: string, headers: Array<[string, string]>): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: target, headers: [['host', `${hostname}:${port}`], ...headers].flat() }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the admin API under attack', () => {
  let redis: StartedRedis;
  let s: AdminStack;
  before(async () => {
    redis = await startRedis();
    s = await startAdminStack({ redisUrl: redis.url });
  });
  after(async () => {
    await s?.close();
    await redis?.close();
  });

  it('refuses malformed and doubled Authorization headers, and ends nothing', async () => {
    const alice = await s.stack.signIn('alice');
    const token = ADMIN_TOKENS[0];
    for (const authorization of ['Bearer', 'Bearer ', `Bearer\t${token}`, `Bearer${token}`, `Bearer "${token}"`, `${token}`, `Bearer ${token}${token}`, `Bearer ${token.toUpperCase()}`]) {
      const answer = await s.admin('DELETE', '/admin/sessions?user=alice', { authorization });
      assert.equal(answer.status, 401, JSON.stringify(authorization));
    }
    // Two Authorization lines: Node keeps the first, so a wrong one first is a 401, never the second's right.
    assert.equal(
      await rawAdmin(s.adminUrl, 'DELETE', '/admin/sessions?user=alice', [
        ['authorization', 'Bearer wrong-token-0123456789abcdef'],
        ['authorization', `Bearer ${token}`],
      ]),
      401,
    );
    assert.ok(await signedIn(alice, s.stack.publicUrl), 'alice is still signed in');
  });

  it('session ids that walk the path or name a user end nothing', async () => {
    const alice = await s.stack.signIn('alice');
    for (const target of [
      '/admin/sessions/..%2F..%2Fadmin%2Fsessions%3Fuser%3Dalice',
      '/admin/sessions/%2e%2e?user=alice',
      '/admin/sessions/..?user=alice',
      '/admin/sessions/*?user=alice',
      '/admin/sessions/alice',
      `/admin/sessions/${'A'.repeat(200)}`,
      '/admin/sessions/authgate:sub:alice',
      '/admin/sessions/abcdefghijklmnop%00',
    ]) {
      const status = await rawAdmin(s.adminUrl, 'DELETE', target, [['authorization', `Bearer ${ADMIN_TOKENS[0]}`]]);
      assert.ok([400, 404, 414].includes(status), `${target}: ${status}`);
    }
    assert.ok(await signedIn(alice, s.stack.publicUrl), 'alice is still signed in');
  });

  it('a user given twice, as an array or oversized is a 400', async () => {
    const alice = await s.stack.signIn('alice');
    for (const query of ['user=alice&user=bob', 'user[]=alice', 'user[0]=alice', `user=${'a'.repeat(600)}`, 'user=']) {
      for (const method of ['GET', 'DELETE']) {
        const answer = await s.admin(method, `/admin/sessions?${query}`);
        assert.equal(answer.status, 400, `${method} ?${query.slice(0, 30)}`);
      }
    }
    assert.ok(await signedIn(alice, s.stack.publicUrl), 'alice is still signed in');
  });

  it('another site cannot call it from a browser: no CORS grant, preflight or not', async () => {
    const origin = 'https://evil.example';
    const preflight = await fetch(`${s.adminUrl}/admin/sessions?user=alice`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.headers.get('access-control-allow-headers'), null);
    const simple = await fetch(`${s.adminUrl}/admin/sessions?user=alice`, { headers: { origin, authorization: `Bearer ${ADMIN_TOKENS[0]}` } });
    assert.equal(simple.status, 200);
    assert.equal(simple.headers.get('access-control-allow-origin'), null, 'a browser would not let the page read it');
    assert.equal(simple.headers.get('access-control-allow-credentials'), null);
  });
});
