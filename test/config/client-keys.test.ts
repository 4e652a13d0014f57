/**
 * The client authentication keys: clientPrivateKey (PEM in any form, or a private JWK; from ${VAR} or
 * clientPrivateKeyFile), what private_key_jwt and the secret methods require, and a key that cannot sign
 * refused at its YAML path without the key in the message.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { testKey, traditionalPem, type TestKey } from '../helpers/client-keys.js';
import { load, minimalTree, problemsOf } from './fixtures.js';

/** A tree whose provider authenticates with private_key_jwt and no secret. */
function keyTree(key?: string) {
  const tree = minimalTree();
  delete tree.oidc.clientSecret;
  tree.oidc.clientAuthMethod = 'private_key_jwt';
  if (key !== undefined) tree.oidc.clientPrivateKey = key;
  return tree;
}

/** No problem line may hold a piece of the key. */
function assertNoEcho(problems: string[], key: TestKey): void {
  const body = key.pkcs8.split('\n')[1] ?? '';
  for (const problem of problems) {
    assert.ok(!problem.includes(body.slice(0, 16)), `a problem echoes the key: ${problem}`);
    assert.ok(!problem.includes('"d":'), `a problem echoes the JWK: ${problem}`);
  }
}

describe('oidc.clientPrivateKey', () => {
  const rsa = testKey('rsa');
  const p256 = testKey('p256');
  const dir = mkdtempSync(join(tmpdir(), 'authgate-client-key-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('takes PKCS#8, PKCS#1 and SEC1 PEMs, a private JWK, and Ed25519; no clientSecret needed', () => {
    for (const text of [rsa.pkcs8, traditionalPem(rsa), traditionalPem(p256), p256.jwkText, testKey('ed25519').pkcs8, testKey('p384').jwkText]) {
      const config = load(keyTree(text));
      assert.equal(config.oidc.clientAuthMethod, 'private_key_jwt');
      assert.equal(config.oidc.clientSecret, undefined);
    }
  });

  it('comes from the environment through ${VAR}, and from clientPrivateKeyFile', () => {
    assert.equal(load(keyTree('${OIDC_CLIENT_KEY}'), { OIDC_CLIENT_KEY: rsa.pkcs8 }).oidc.clientPrivateKey, rsa.pkcs8);
    const file = join(dir, 'client.pem');
    writeFileSync(file, `${p256.pkcs8}\n`);
    const tree = keyTree();
    tree.oidc.clientPrivateKeyFile = file;
    assert.equal(load(tree).oidc.clientPrivateKey, p256.pkcs8.trim());
    assert.equal(load({ ...tree, oidc: { ...tree.oidc, clientPrivateKeyId: 'gateway-2026' } }).oidc.clientPrivateKeyId, 'gateway-2026');
  });

  it('is required with private_key_jwt', () => {
    assert.deepEqual(problemsOf(keyTree()), ['oidc.clientPrivateKey: required with clientAuthMethod: private_key_jwt (or clientPrivateKeyFile)']);
  });

  it('refuses a key that cannot sign, at its path, never echoing it', () => {
    const cases: Array<[string, RegExp]> = [
      ['not a key at all', /^oidc\.clientPrivateKey: not a private key: expected a PEM/],
      [`${rsa.pkcs8.slice(0, 300)}\n-----END PRIVATE KEY-----\n`, /^oidc\.clientPrivateKey: not a private key/],
      [rsa.publicPem, /^oidc\.clientPrivateKey: this is a public key; give the private key/],
      [JSON.stringify(p256.publicJwk), /^oidc\.clientPrivateKey: this is a public key/],
      [testKey('rsa-1024').pkcs8, /^oidc\.clientPrivateKey: an RSA key of 1024 bits; use at least 2048$/],
      [testKey('x25519').pkcs8, /^oidc\.clientPrivateKey: an unsupported key type \(x25519\)/],
      [testKey('rsa-pss').pkcs8, /^oidc\.clientPrivateKey: an RSA-PSS key \(id-RSASSA-PSS\), which cannot be published as a JWK/],
      [testKey('secp256k1').pkcs8, /^oidc\.clientPrivateKey: an EC key on an unsupported curve/],
    ];
    for (const [text, expected] of cases) {
      const problems = problemsOf(keyTree(text));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0] ?? '', expected);
      assertNoEcho(problems, rsa);
      assertNoEcho(problems, p256);
    }
  });

  it('names clientPrivateKeyFile when the bad key came from a file', () => {
    const file = join(dir, 'public.pem');
    writeFileSync(file, rsa.publicPem);
    const tree = keyTree();
    tree.oidc.clientPrivateKeyFile = file;
    assert.match(problemsOf(tree)[0] ?? '', /^oidc\.clientPrivateKeyFile \(oidc\.clientPrivateKey\): this is a public key/);
  });

  it('is checked for each providers[] entry on its own', () => {
    const tree: Record<string, unknown> = minimalTree();
    delete tree.oidc;
    tree.providers = [
      { id: 'corp', issuer: 'https://corp.example.com', clientId: 'gw', clientAuthMethod: 'private_key_jwt', clientPrivateKey: p256.pkcs8 },
      { id: 'partners', issuer: 'https://partners.example.com', clientId: 'gw', clientAuthMethod: 'private_key_jwt' },
      { id: 'legacy', issuer: 'https://legacy.example.com', clientId: 'gw', clientAuthMethod: 'client_secret_jwt' },
    ];
    assert.deepEqual(problemsOf(tree), [
      'providers[1].clientPrivateKey: required with clientAuthMethod: private_key_jwt (or clientPrivateKeyFile)',
      'providers[2].clientSecret: required',
    ]);
  });
});

describe('the secret methods', () => {
  it('still require clientSecret, client_secret_jwt included', () => {
    for (const method of ['client_secret_basic', 'client_secret_post', 'client_secret_jwt']) {
      const tree = minimalTree();
      delete tree.oidc.clientSecret;
      tree.oidc.clientAuthMethod = method;
      assert.deepEqual(problemsOf(tree), ['oidc.clientSecret: required']);
    }
  });
});

describe('oidc.pushedAuthorizationRequests', () => {
  it('defaults to auto and takes required and off; nothing else', () => {
    assert.equal(load(minimalTree()).oidc.pushedAuthorizationRequests, 'auto');
    for (const mode of ['required', 'off']) {
      const tree = minimalTree();
      tree.oidc.pushedAuthorizationRequests = mode;
      assert.equal(load(tree).oidc.pushedAuthorizationRequests, mode);
    }
    const tree = minimalTree();
    tree.oidc.pushedAuthorizationRequests = 'always';
    assert.match(problemsOf(tree)[0] ?? '', /^oidc\.pushedAuthorizationRequests: /);
  });
});
