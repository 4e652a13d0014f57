/**
 * The DPoP key: `oidc.dpopKey` (PEM or private JWK, from `${VAR}` or `dpopKeyFile`) checked at load with a
 * message naming the key's path and never its text; without it a key derived from session.keys, the same
 * at every gateway sharing the keys and after a restart. A key rotation re-binds sessions at a refresh.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { BrowserClient } from '../helpers/browser-client.js';
import {
  baseConfig,
  freePort,
  OTHER_SESSION_KEY,
  startGateway,
  TEST_CLIENT_ID,
  TEST_CLIENT_SECRET,
  TEST_SESSION_KEY,
  type ConfigTree,
  type StartedGateway,
} from '../helpers/gateway.js';
import { startIdp, type StartedIdp } from '../helpers/idp.js';
import { startUpstream, type StartedUpstream } from '../helpers/upstream.js';
import { load, minimalTree, problemsOf } from './fixtures.js';

const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
const thumbprintOf = (key: KeyObject) => calculateJwkThumbprint(key.export({ format: 'jwk' }));

describe('oidc.dpopKey at load', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'authgate-dpop-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a PEM from ${VAR}, a private JWK, and dpopKeyFile', () => {
    const tree = minimalTree();
    tree.oidc.dpop = true;
    tree.oidc.dpopKey = '${DPOP_KEY}';
    assert.equal(load(tree, { DPOP_KEY: pem(ec.privateKey) }).oidc.dpopKey, pem(ec.privateKey));
    tree.oidc.dpopKey = JSON.stringify(ec.privateKey.export({ format: 'jwk' }));
    assert.equal(load(tree).oidc.dpop, true);
    delete tree.oidc.dpopKey;
    tree.oidc.dpopKeyFile = join(dir, 'dpop.pem');
    writeFileSync(tree.oidc.dpopKeyFile as string, pem(ec.privateKey));
    assert.equal(load(tree).oidc.dpopKey?.trim(), pem(ec.privateKey).trim());
  });

  it('refuses an RSA key and text that is no key, naming the path and never echoing the key', () => {
    const tree = minimalTree();
    tree.oidc.dpop = true;
    tree.oidc.dpopKey = pem(rsa.privateKey);
    const [rsaProblem, ...rest] = problemsOf(tree);
    assert.deepEqual(rest, []);
    assert.match(rsaProblem ?? '', /^oidc\.dpopKey: a rsa key cannot sign DPoP proofs here/);
    assert.ok(!rsaProblem?.includes('PRIVATE KEY'));
    tree.oidc.dpopKey = 'not-a-key-but-a-secret-4711';
    const problems = problemsOf(tree);
    assert.match(problems.join('\n'), /oidc\.dpopKey: not a private key/);
    assert.ok(!problems.join('\n').includes('4711'));
  });

  it('names the provider entry in providers[]', () => {
    const { oidc, ...rest } = minimalTree();
    const tree = { ...rest, providers: [{ ...oidc, id: 'corp', dpop: true, dpopKey: 'nope' }] };
    assert.match(problemsOf(tree).join('\n'), /providers\[0\]\.dpopKey: not a private key/);
  });
});

/** One provider, one upstream, and gateways started and restarted on fixed ports with chosen settings. */
describe('the DPoP key across gateways, restarts and rotations', () => {
  let idp: StartedIdp;
  let upstream: StartedUpstream;
  const ports: number[] = [];
  const running = new Set<StartedGateway>();
  before(async () => {
    ports.push(await freePort(), await freePort());
    upstream = await startUpstream();
    idp = await startIdp({
      clients: [{ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, redirectUris: ports.map((p) => `http://127.0.0.1:${p}/oauth2/callback`) }],
    });
  });
  after(async () => {
    for (const gateway of running) await gateway.close();
    await Promise.all([idp.close(), upstream.close()]);
  });

  async function start(port: number, change: (tree: ConfigTree) => void): Promise<StartedGateway> {
    const tree = baseConfig({ publicUrl: `http://127.0.0.1:${port}`, issuer: idp.issuer, upstreamUrl: upstream.url, listenPort: port });
    tree.oidc.dpop = true;
    change(tree);
    const gateway = await startGateway(tree, { port });
    running.add(gateway);
    return gateway;
  }
  async function stop(gateway: StartedGateway): Promise<void> {
    await gateway.close();
    running.delete(gateway);
  }
  /** Signs in at the gateway; resolves to the browser and the jkt the provider bound the new token to. */
  async function signIn(gateway: StartedGateway): Promise<{ browser: BrowserClient; jkt: string | undefined }> {
    const browser = new BrowserClient();
    const result = await browser.login(`${gateway.url}/`, 'alice');
    assert.equal(result.response?.status, 200);
    const token = String(upstream.last()?.headers.authorization).split(' ')[1];
    return { browser, jkt: idp.dpop.issuedAccessTokens.find((t) => t.jti === token)?.jkt };
  }
  /** The jkt of the key that signed the proof of the upstream's last request. */
  async function lastProofJkt(): Promise<string> {
    const { protectedHeader } = await jwtVerify(String(upstream.last()?.headers.dpop), EmbeddedJWK, { typ: 'dpop+jwt' });
    return calculateJwkThumbprint(protectedHeader.jwk as JWK);
  }

  it('binds to the same derived key at two gateways sharing session.keys and after a restart', async () => {
    const [portA, portB] = ports as [number, number];
    const a = await start(portA, () => undefined);
    const b = await start(portB, () => undefined);
    const atA = await signIn(a);
    const atB = await signIn(b);
    assert.ok(atA.jkt, 'the token is bound');
    assert.equal(atB.jkt, atA.jkt);
    await stop(a);
    const restarted = await start(portA, () => undefined);
    assert.equal((await signIn(restarted)).jkt, atA.jkt);
    await stop(restarted);
    await stop(b);
  });

  it('binds to a configured key: PEM (ES256) and private JWK (Ed25519)', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    for (const [key, text] of [
      [ec, pem(ec)],
      [ed, JSON.stringify(ed.export({ format: 'jwk' }))],
    ] as const) {
      const gateway = await start(ports[0], (tree) => (tree.oidc.dpopKey = text));
      const { browser, jkt } = await signIn(gateway);
      assert.equal(jkt, await thumbprintOf(key));
      assert.equal((await browser.fetch(`${gateway.url}/again`)).status, 200);
      assert.equal(await lastProofJkt(), jkt, 'the upstream proof is signed with the same key');
      await stop(gateway);
    }
  });

  it('keeps proving with an older session key still listed; re-binds at a refresh once it is gone or DPoP is off', async () => {
    const port = ports[0];
    let gateway = await start(port, (tree) => (tree.session.keys = [TEST_SESSION_KEY]));
    const { browser, jkt: first } = await signIn(gateway);
    await stop(gateway);

    // A new session key put first: the session's token stays bound to the key of the older one.
    gateway = await start(port, (tree) => (tree.session.keys = [OTHER_SESSION_KEY, TEST_SESSION_KEY]));
    let grants = idp.refreshGrants();
    assert.equal((await browser.fetch(`${gateway.url}/rotated`)).status, 200);
    assert.equal(idp.refreshGrants(), grants, 'no refresh while the key is still listed');
    assert.equal(await lastProofJkt(), first);
    await stop(gateway);

    // The old key removed (the cookie was re-sealed under the new one meanwhile): a refresh re-binds.
    gateway = await start(port, (tree) => (tree.session.keys = [OTHER_SESSION_KEY]));
    grants = idp.refreshGrants();
    assert.equal((await browser.fetch(`${gateway.url}/removed`)).status, 200);
    assert.equal(idp.refreshGrants(), grants + 1, 'one refresh re-bound the session');
    const second = await lastProofJkt();
    assert.notEqual(second, first);
    const token = String(upstream.last()?.headers.authorization).split(' ')[1];
    assert.equal(idp.dpop.issuedAccessTokens.find((t) => t.jti === token)?.jkt, second);
    await stop(gateway);

    // DPoP turned off: the bound token is traded for a Bearer one.
    gateway = await start(port, (tree) => {
      tree.session.keys = [OTHER_SESSION_KEY];
      tree.oidc.dpop = false;
    });
    grants = idp.refreshGrants();
    assert.equal((await browser.fetch(`${gateway.url}/off`)).status, 200);
    assert.equal(idp.refreshGrants(), grants + 1);
    assert.match(String(upstream.last()?.headers.authorization), /^Bearer /);
    assert.equal(upstream.last()?.headers.dpop, undefined);
    await stop(gateway);
  });
});
