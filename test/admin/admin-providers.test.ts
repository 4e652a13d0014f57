/**
 * The admin API with several providers: the same `sub` at two providers is two people. The list names each
 * session's provider and `?provider=ID` narrows it; `DELETE ?user=SUB&provider=ID` ends that provider's
 * sessions only, and without `provider` every provider's. Two real providers, the Redis store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { startRedis, type StartedRedis } from '../helpers/redis.js';
import { startTwoProviders, type TwoProviderStack } from '../helpers/two-providers.js';
import { ADMIN_TOKENS } from './admin-fixtures.js';

describe('admin API with several providers', () => {
  let redis: StartedRedis;
  let stack: TwoProviderStack;
  let adminUrl: string;

  before(async () => {
    redis = await startRedis();
    const adminPort = await freePort();
    stack = await startTwoProviders({
      configure: (tree) => {
        tree.session = { ...tree.session, store: 'redis', redis: { url: redis.url } };
        tree.admin = { listen: `127.0.0.1:${adminPort}`, tokens: [...ADMIN_TOKENS] };
      },
    });
    const admin = stack.gateway.gateway.admin;
    assert.ok(admin);
    await admin.listen({ host: '127.0.0.1', port: adminPort });
    adminUrl = `http://127.0.0.1:${adminPort}`;
  });
  after(async () => {
    await stack?.close();
    await redis?.close();
  });

  const admin = (method: string, path: string) => fetch(`${adminUrl}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKENS[0]}` } });
  const listed = async (query: string) => ((await (await admin('GET', `/admin/sessions?${query}`)).json()) as { sessions: Array<{ provider: string }> }).sessions;
  const status = async (browser: Awaited<ReturnType<TwoProviderStack['signIn']>>) =>
    (await browser.fetch(`${stack.publicUrl}/hello`, { headers: { accept: 'application/json' } })).status;

  it('lists and ends the sessions of one provider, then of every provider', async () => {
    const atCorp = await stack.signIn('corp', 'alice');
    const atPartners = await stack.signIn('partners', 'alice');
    assert.deepEqual((await listed('user=alice')).map((s) => s.provider).sort(), ['corp', 'partners']);
    assert.deepEqual((await listed('user=alice&provider=partners')).map((s) => s.provider), ['partners']);

    const partnersOnly = await admin('DELETE', '/admin/sessions?user=alice&provider=partners');
    assert.deepEqual(await partnersOnly.json(), { revoked: 1 });
    assert.equal(await status(atPartners), 401, "partners' alice is signed out");
    assert.equal(await status(atCorp), 200, "corp's alice is not");

    const everyProvider = await admin('DELETE', '/admin/sessions?user=alice');
    assert.deepEqual(await everyProvider.json(), { revoked: 1 });
    assert.equal(await status(atCorp), 401);
  });

  it('ends the primary provider sessions by its id too', async () => {
    const atCorp = await stack.signIn('corp', 'bob');
    const atPartners = await stack.signIn('partners', 'bob');
    assert.deepEqual(await (await admin('DELETE', '/admin/sessions?user=bob&provider=corp')).json(), { revoked: 1 });
    assert.equal(await status(atCorp), 401);
    assert.equal(await status(atPartners), 200);
  });

  it('refuses a provider that is not configured, given twice, or empty', async () => {
    for (const query of ['provider=nope', 'provider=corp&provider=partners', 'provider=', 'provider=default']) {
      const answer = await admin('DELETE', `/admin/sessions?user=alice&${query}`);
      assert.equal(answer.status, 400, query);
      assert.equal((await admin('GET', `/admin/sessions?user=alice&${query}`)).status, 400, query);
    }
  });
});
