/**
 * Pushed authorization requests (RFC 9126, `oidc.pushedAuthorizationRequests`) against the real provider:
 * `auto` pushes when the provider advertises PAR and the browser carries only client_id and request_uri;
 * `off` never pushes; `required` refuses a login at a provider without PAR (503 page, one log line); a
 * refused or failed push is a page, never a 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStack, TEST_CLIENT_ID, TEST_SESSION_KEY, type Stack, type StackOptions } from '../helpers/gateway.js';
import { testKey } from '../helpers/client-keys.js';
import { sealBoxesFor } from '../helpers/seal.js';

type Mode = 'auto' | 'required' | 'off';

function parStack(mode: Mode | undefined, par: 'off' | 'on' | 'required', more: StackOptions = {}): Promise<Stack> {
  return startStack({
    ...more,
    idp: { par, ...more.idp },
    configure: (c) => {
      if (mode !== undefined) c.oidc.pushedAuthorizationRequests = mode;
      more.configure?.(c);
    },
  });
}

/** Where /oauth2/start sends a browser, and whether it set the login transaction cookie. */
async function start(stack: Stack): Promise<{ response: Response; location: URL | undefined }> {
  const response = await stack.browser().fetch(`${stack.publicUrl}/oauth2/start?rd=%2F`, { headers: { accept: 'text/html' } });
  const location = response.headers.get('location');
  return { response, location: location ? new URL(location) : undefined };
}

function parLines(stack: Stack): Array<Record<string, unknown>> {
  return stack.gateway.logEntries().filter((entry) => entry.option === 'pushedAuthorizationRequests');
}

describe('pushedAuthorizationRequests: auto (the default) at a provider that advertises PAR', () => {
  let stack: Stack;
  before(async () => {
    stack = await parStack(undefined, 'on');
  });
  after(() => stack.close());

  it('pushes the request; the browser carries only client_id and request_uri', async () => {
    const { response, location } = await start(stack);
    assert.equal(response.status, 302);
    assert.ok(location && location.href.startsWith(`${stack.idp.issuer}/auth?`), "to the authorization endpoint");
    assert.deepEqual([...location.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(location.searchParams.get('client_id'), TEST_CLIENT_ID);
    assert.match(location.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);

    const pushed = stack.idp.clientRequests.filter((r) => r.endpoint === 'par').at(-1);
    assert.equal(pushed?.status, 201);
    assert.equal(pushed.authMethod, 'client_secret_basic', 'authenticated like the token endpoint');
    const asked = stack.idp.authorizationRequests.at(-1);
    assert.ok(asked);
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.match(asked.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.match(asked.get('state') ?? '', /^[A-Za-z0-9_-]{43,}$/);
    assert.match(asked.get('nonce') ?? '', /^[A-Za-z0-9_-]{43,}$/);
    assert.ok(asked.get('scope')?.split(' ').includes('offline_access'));
    assert.equal(asked.get('redirect_uri'), `${stack.publicUrl}/oauth2/callback`);
    assert.equal(asked.get('response_type'), 'code');
  });

  it('signs the user in through the pushed request, with a refresh token as asked', async () => {
    const browser = await stack.signIn('alice');
    const session = (await sealBoxesFor([TEST_SESSION_KEY], stack)).session.open(browser.jar.get('authgate')?.value ?? '')?.data as {
      tokens: { refreshToken?: string };
    };
    assert.ok(session.tokens.refreshToken, 'offline_access came through the pushed request');
    const metrics = await (await fetch(`${stack.publicUrl}/metrics`)).text();
    assert.match(metrics, /authgate_provider_requests_total\{operation="par",outcome="success",provider="default"\} [1-9]/);
  });
});

describe('pushedAuthorizationRequests: auto at a provider without PAR', () => {
  let stack: Stack;
  before(async () => {
    stack = await parStack('auto', 'off');
  });
  after(() => stack.close());

  it('sends every parameter in the redirect and pushes nothing', async () => {
    const { location } = await start(stack);
    assert.match(location?.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{43,}$/);
    assert.equal(location?.searchParams.get('request_uri'), null);
    await stack.signIn('alice');
    assert.equal(stack.idp.clientRequests.filter((r) => r.endpoint === 'par').length, 0);
    assert.deepEqual(parLines(stack), [], 'nothing to say');
  });
});

describe('pushedAuthorizationRequests: off', () => {
  let stack: Stack;
  before(async () => {
    stack = await parStack('off', 'on');
  });
  after(() => stack.close());

  it('never POSTs to the PAR endpoint, even when the provider offers it', async () => {
    const { location } = await start(stack);
    assert.match(location?.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    await stack.signIn('alice');
    assert.equal(stack.idp.clientRequests.filter((r) => r.endpoint === 'par').length, 0);
  });

  it('warns once when the provider requires PAR', async () => {
    const requiring = await parStack('off', 'required');
    try {
      const lines = parLines(requiring);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]?.level, 'warn');
      assert.equal(lines[0]?.provider, 'default');
      assert.match(String(lines[0]?.msg), /requires pushed authorization requests/);
    } finally {
      await requiring.close();
    }
  });
});

describe('pushedAuthorizationRequests: required', () => {
  it('pushes at a provider that advertises PAR and signs the user in', async () => {
    const stack = await parStack('required', 'required');
    try {
      await stack.signIn('alice');
      assert.equal(stack.idp.clientRequests.filter((r) => r.endpoint === 'par' && r.status === 201).length, 1);
      assert.deepEqual(parLines(stack), []);
    } finally {
      await stack.close();
    }
  });

  it('refuses a login at a provider without PAR: a 503 page, one log line for any number of logins', async () => {
    const stack = await parStack('required', 'off');
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const { response, location } = await start(stack);
        assert.equal(response.status, 503);
        assert.equal(location, undefined);
        assert.equal(response.headers.get('set-cookie'), null, 'no login transaction is left behind');
        const page = await response.text();
        assert.match(page, /Sign-in service error/);
        assert.match(page, /does not accept the kind of sign-in request this gateway is set up to send/);
      }
      const lines = parLines(stack);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]?.level, 'error');
      assert.equal(lines[0]?.provider, 'default');
      assert.match(String(lines[0]?.msg), /"required" but the provider advertises no pushed_authorization_request_endpoint/);
    } finally {
      await stack.close();
    }
  });
});

describe('a push the provider refuses or cannot take', () => {
  it('is a 502 page when the provider refuses it (here: the client authenticates another way than registered)', async () => {
    // Registered for private_key_jwt; the gateway sends its secret: the provider answers invalid_client.
    const stack = await parStack('auto', 'on', { client: () => ({ authMethod: 'private_key_jwt', jwks: { keys: [testKey('p256').publicJwk] } }) });
    try {
      const { response } = await start(stack);
      assert.equal(response.status, 502);
      const page = await response.text();
      assert.match(page, /Sign-in service error/);
      assert.match(page, /refused this gateway(&#x27;|')s sign-in request \(invalid_client\)/);
      assert.equal(response.headers.get('set-cookie'), null, 'no login transaction is left behind');
      assert.equal(stack.idp.clientRequests.at(-1)?.status, 401);
    } finally {
      await stack.close();
    }
  });

  it('is a 503 page when the provider cannot be reached', async () => {
    const stack = await parStack('auto', 'on');
    await stack.idp.close();
    try {
      const { response } = await start(stack);
      assert.equal(response.status, 503);
      assert.match(await response.text(), /not reachable right now/);
    } finally {
      await stack.gateway.close();
      await stack.upstream.close();
    }
  });
});
