/**
 * The admin API tests' stack: provider, recording upstream, a WebSocket echo upstream on `/ws`, and a
 * gateway (cookie or Redis store) whose admin API listens on its own port with two tokens.
 */
import assert from 'node:assert/strict';
import type { BrowserClient } from '../helpers/browser-client.js';
import { freePort, startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';
import { demoUsers, type IdpUser } from '../helpers/idp-accounts.js';
import type { TestClock } from '../helpers/test-clock.js';
import { connect, startWsUpstream, type OpenClient, type WsUpstream } from '../proxy/ws-echo-fixtures.js';
import { within } from '../proxy/ws-fixtures.js';

/** The two admin tokens the stack accepts (index 0 and 1). */
export const ADMIN_TOKENS = ['admin-token-zero-0123456789abcdef', 'admin-token-one-0123456789abcdef'] as const;

/** The provider's users: alice and bob, and one more per test that needs a user of its own. */
export const ADMIN_TEST_USERS: IdpUser[] = [
  ...demoUsers,
  ...['carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'].map((sub) => ({
    sub,
    email: `${sub}@example.com`,
    emailVerified: true,
    preferredUsername: sub,
    name: sub,
    groups: ['staff'],
  })),
];

/** A gateway with its admin API listening. */
export interface AdminStack {
  stack: Stack;
  wsUpstream: WsUpstream;
  /** The admin API's base URL (its own port). */
  adminUrl: string;
  /** The gateway's public URL with the ws: scheme. */
  wsBase: string;
  /** A request to the admin API with the given token (index into ADMIN_TOKENS, or a raw Authorization value). */
  admin(method: string, path: string, token?: number | { authorization: string }): Promise<Response>;
  close(): Promise<void>;
}

/** Starts the stack; `redisUrl` selects the Redis store. */
export async function startAdminStack(
  options: { redisUrl?: string; now?: TestClock['now']; configure?: (tree: ConfigTree) => void } = {},
): Promise<AdminStack> {
  const wsUpstream = await startWsUpstream();
  const adminPort = await freePort();
  const stack = await startStack({
    now: options.now,
    idp: { users: ADMIN_TEST_USERS },
    configure: (tree) => {
      tree.admin = { listen: `127.0.0.1:${adminPort}`, tokens: [...ADMIN_TOKENS] };
      if (options.redisUrl) tree.session = { ...tree.session, store: 'redis', redis: { url: options.redisUrl } };
      tree.upstreams.unshift({ name: 'ws', path: '/ws', url: wsUpstream.url });
      options.configure?.(tree);
    },
  });
  const admin = stack.gateway.gateway.admin;
  assert.ok(admin, 'admin.listen builds the admin API');
  await admin.listen({ host: '127.0.0.1', port: adminPort });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  return {
    stack,
    wsUpstream,
    adminUrl,
    wsBase: stack.publicUrl.replace(/^http/, 'ws'),
    admin(method, path, token = 0) {
      const authorization = typeof token === 'number' ? `Bearer ${ADMIN_TOKENS[token]}` : token.authorization;
      return fetch(`${adminUrl}${path}`, { method, headers: authorization === '' ? {} : { authorization } });
    },
    close: async () => {
      await stack.close();
      await wsUpstream.close();
    },
  };
}

/** The Cookie header a signed-in browser sends to the gateway. */
export function cookieOf(browser: BrowserClient, url: string): string {
  const header = browser.jar.cookieHeader(url);
  assert.ok(header, 'the browser holds the gateway cookie');
  return header;
}

/** Whether the browser is still signed in: a page through the gateway answers 200 (302 to sign in when not). */
export async function signedIn(browser: BrowserClient, url: string): Promise<boolean> {
  const response = await browser.fetch(`${url}/page`);
  await response.body?.cancel();
  assert.ok(response.status === 200 || response.status === 302, `unexpected ${response.status}`);
  return response.status === 200;
}

/** Opens a WebSocket to the echo upstream through the gateway with the browser's cookie; the echo proves it is live. */
export function socketOpener(stackOf: () => AdminStack): (browser: BrowserClient) => Promise<OpenClient> {
  return async (browser) => {
    const s = stackOf();
    const handshake = await connect(`${s.wsBase}/ws`, { cookie: cookieOf(browser, s.stack.publicUrl) });
    assert.equal(handshake.kind, 'open');
    const { client } = handshake;
    client.ws.send('ping');
    assert.equal((await client.nextMessage()).data.toString(), 'ping');
    return client;
  };
}

/** The close the gateway sends when the socket's session ends, within 5 s (the bound is the assertion). */
export async function endedWithin5s(client: OpenClient): Promise<void> {
  const closed = await within(client.closeEvent, 'the WebSocket to close after its session ended', 5_000);
  assert.deepEqual(closed, { code: 1008, reason: 'session ended' });
}
