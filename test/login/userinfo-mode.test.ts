/**
 * `oidc.userinfo`: auto asks the provider's userinfo endpoint at sign-in only when the ID token lacks a claim
 * the gateway uses (the email, the groups claim, the user claim, a claim an `allow.claims` rule names);
 * always asks at every sign-in; never does not ask, so a claim only userinfo gives is missing. What the
 * provider counted at its userinfo endpoint and what the app and the policy saw are asserted.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { minimalTree, pathOf, problemsOf } from '../config/fixtures.js';
import { startStack, type ConfigTree, type Stack } from '../helpers/gateway.js';

const stacks: Stack[] = [];
after(() => Promise.all(stacks.map((s) => s.close())));

/** A stack whose provider leaves `userinfoOnly` out of its ID tokens, with oidc.userinfo = `mode`. */
async function stackWith(mode: 'auto' | 'always' | 'never' | undefined, userinfoOnly: string[], configure?: (tree: ConfigTree) => void): Promise<Stack> {
  const stack = await startStack({
    idp: { userinfoOnlyClaims: userinfoOnly },
    configure: (tree) => {
      if (mode) tree.oidc.userinfo = mode;
      configure?.(tree);
    },
  });
  stacks.push(stack);
  return stack;
}

/** `alice` (group admins) may enter /admin; everyone signed in may enter /. */
const adminsOnly = (tree: ConfigTree) => {
  tree.upstreams = [
    { name: 'app', path: '/', url: tree.upstreams[0]?.url, allow: { anyAuthenticatedUser: true } },
    { name: 'admin', path: '/admin', url: tree.upstreams[0]?.url, allow: { groups: ['admins'] } },
  ];
};

/** The status of alice's visit to `path` after signing in at `/`. */
async function aliceAt(stack: Stack, path: string): Promise<number> {
  const browser = await stack.signIn('alice');
  const answer = await browser.fetch(`${stack.publicUrl}${path}`, { headers: { accept: 'application/json' } });
  await answer.body?.cancel();
  return answer.status;
}

describe('oidc.userinfo: auto (the default)', () => {
  it('does not ask when the ID token has every claim the gateway uses', async () => {
    const stack = await stackWith(undefined, [], adminsOnly);
    assert.equal(await aliceAt(stack, '/admin/x'), 200);
    assert.equal(stack.idp.userinfoRequests(), 0);
  });

  it('asks when the ID token lacks the groups claim: the policy sees the groups', async () => {
    const stack = await stackWith('auto', ['groups'], adminsOnly);
    assert.equal(await aliceAt(stack, '/admin/x'), 200);
    assert.equal(stack.idp.userinfoRequests(), 1);
    assert.equal(stack.upstream.last()?.headers['x-forwarded-groups'], 'admins,staff');
  });

  it('asks when the ID token lacks the user claim: the app is told the user', async () => {
    const stack = await stackWith('auto', ['name'], (tree) => (tree.oidc.userClaim = 'name'));
    assert.equal(await aliceAt(stack, '/x'), 200);
    assert.equal(stack.idp.userinfoRequests(), 1);
    assert.equal(decodeURIComponent(String(stack.upstream.last()?.headers['x-forwarded-user'])), 'Alice Admin');
  });

  it('asks when the ID token lacks a claim an allow.claims rule names', async () => {
    const stack = await stackWith('auto', ['preferred_username'], (tree) => {
      tree.upstreams = [{ name: 'app', path: '/', url: tree.upstreams[0]?.url, allow: { claims: { preferred_username: ['alice'] } } }];
    });
    assert.equal(await aliceAt(stack, '/x'), 200);
    assert.equal(stack.idp.userinfoRequests(), 1);
  });
});

describe('oidc.userinfo: never and always', () => {
  it('never: a claim only userinfo gives stays missing, and the groups rule refuses', async () => {
    const stack = await stackWith('never', ['groups'], adminsOnly);
    assert.equal(await aliceAt(stack, '/admin/x'), 403);
    assert.equal(await aliceAt(stack, '/x'), 200, 'signed in all the same');
    assert.equal(stack.idp.userinfoRequests(), 0);
  });

  it('always: asks at every sign-in, even when the ID token has every claim', async () => {
    const stack = await stackWith('always', [], adminsOnly);
    assert.equal(await aliceAt(stack, '/admin/x'), 200);
    assert.equal(await aliceAt(stack, '/x'), 200);
    assert.equal(stack.idp.userinfoRequests(), 2);
  });

  it('another word is a configuration error at oidc.userinfo', () => {
    const tree = minimalTree();
    tree.oidc.userinfo = 'sometimes';
    assert.deepEqual(problemsOf(tree).map(pathOf), ['oidc.userinfo']);
  });
});
