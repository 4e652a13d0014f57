/**
 * The real command's output during a whole login, a proxied request and a sign-out: every stdout line is
 * one JSON object, stderr stays empty, there is one request line per request with the contract's fields,
 * and no token, code, client secret, session key or cookie value appears anywhere in it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { BrowserClient } from '../helpers/browser-client.js';
import {
  baseConfig,
  freePort,
  runCli,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_SESSION_KEY,
  waitForOutput,
  type GatewayProcess,
} from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { sealBoxesFor } from '../helpers/seal.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';

describe('logs of a whole login', () => {
  let proc: GatewayProcess;
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  let publicUrl: string;
  const secrets = new Map<string, string>();
  let exitCode: number | null = null;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    upstream = await startUpstream();
    idp = await startIdp({
      clients: [
        {
          clientId: TEST_CLIENT_ID,
          clientSecret: TEST_CLIENT_SECRET,
          redirectUris: [`${publicUrl}/oauth2/callback`],
          postLogoutRedirectUris: [`${publicUrl}/`],
        },
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'authgate-logs-'));
    const file = join(dir, 'gateway.yaml');
    const tree = baseConfig({ publicUrl, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
    tree.oidc.clientSecret = '${OIDC_CLIENT_SECRET}';
    writeFileSync(file, stringify(tree));
    proc = runCli(['--config', file], { OIDC_CLIENT_SECRET: TEST_CLIENT_SECRET, LOG_LEVEL: 'debug' });
    await waitForOutput(proc, (out) => out.includes('provider metadata loaded'));

    const browser = new BrowserClient();
    const { callbackUrl } = await browser.login(`${publicUrl}/secret-page?q=1`, 'alice', { stopAtCallback: true });
    secrets.set('authorization code', new URL(callbackUrl).searchParams.get('code') ?? '');
    secrets.set('state', new URL(callbackUrl).searchParams.get('state') ?? '');
    const landed = await browser.follow(callbackUrl);
    assert.equal(landed.response.status, 200);
    const cookie = browser.jar.get('authgate')?.value ?? '';
    secrets.set('session cookie', cookie);
    const session = (await sealBoxesFor([TEST_SESSION_KEY], tree)).session.open(cookie)?.data as { tokens: Record<string, string> };
    secrets.set('access token', session.tokens.accessToken ?? '');
    secrets.set('refresh token', session.tokens.refreshToken ?? '');
    secrets.set('ID token', session.tokens.idToken ?? '');
    secrets.set('client secret', TEST_CLIENT_SECRET);
    secrets.set('session key', TEST_SESSION_KEY);
    await browser.fetch(`${publicUrl}/api`, { headers: { accept: 'application/json', authorization: 'Bearer client-sent-token-xyz' } });
    secrets.set('client Authorization header', 'client-sent-token-xyz');
    await browser.fetch(`${publicUrl}/oauth2/sign_out`);
    await fetch(`${publicUrl}/oauth2/callback?code=bogus-code-123&state=nope`);
    secrets.set('bogus code', 'bogus-code-123');
    proc.child.kill('SIGTERM');
    exitCode = await proc.exited;
  });
  after(async () => {
    proc.child.kill('SIGKILL');
    await Promise.all([idp.close(), upstream.close()]);
  });

  it('knows every secret it looks for (the test can fail)', () => {
    for (const [name, value] of secrets) assert.ok(value.length >= 12, `${name} was captured`);
  });

  it('writes no secret, token, code or cookie value to stdout or stderr', () => {
    const output = proc.stdout() + proc.stderr();
    for (const [name, value] of secrets) {
      assert.ok(!output.includes(value), `the ${name} appears in the log`);
      // Also no recognisable part of long values (a logger could truncate).
      if (value.length > 40) assert.ok(!output.includes(value.slice(0, 24)), `a prefix of the ${name} appears in the log`);
    }
  });

  it('stops cleanly on SIGTERM with exit code 0', () => {
    assert.equal(exitCode, 0);
    assert.ok(proc.stdout().includes('"msg":"stopped"'));
  });

  it('writes only JSON lines on stdout and nothing on stderr', () => {
    assert.equal(proc.stderr(), '');
    const lines = proc.stdout().split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 5);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
  });

  it('writes one request line per request with reqId, method, path without query, status, responseTime, upstream', () => {
    const entries = proc
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === 'request');
    const page = requests.find((e) => e.path === '/secret-page' && e.status === 200);
    assert.ok(page, 'the proxied page has a request line');
    assert.equal(page.method, 'GET');
    assert.equal(page.upstream, 'app');
    assert.equal(typeof page.responseTime, 'number');
    assert.match(String(page.reqId), /^[0-9a-f]{12}-[0-9a-z]+$/, 'a process prefix and a counter');
    assert.ok(requests.every((e) => !String(e.path).includes('?')), 'no query string in any path');
    const ids = requests.map((e) => e.reqId);
    assert.equal(new Set(ids).size, ids.length, 'one line per request');
  });
});
