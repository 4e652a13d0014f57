/**
 * ProviderKeys.warm, run by discovery after each load: it imports the provider's signing keys without
 * fetching the JWKS again and without using up the unknown-kid refetch (a rotated key still gets its one
 * fetch), never rejects (an encryption key, a key for an algorithm not allowed, a token signed by nobody),
 * and leaves real tokens verifying as before.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { createProviderFetch } from '../../src/oidc/provider-fetch.js';
import { ProviderKeys } from '../../src/oidc/provider-keys.js';

describe('provider keys: warm-up', () => {
  let server: Server;
  let jwksUri: string;
  let requests = 0;
  let jwks: { keys: JWK[] };
  const http = createProviderFetch();
  let signer: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  before(async () => {
    const pair = await generateKeyPair('RS256');
    signer = pair.privateKey;
    const enc = await generateKeyPair('RSA-OAEP');
    const ec = await generateKeyPair('ES256');
    jwks = {
      keys: [
        // No alg: warm names one from the allowed algorithms.
        { ...(await exportJWK(pair.publicKey)), kid: 'sig-1', use: 'sig' },
        { ...(await exportJWK(enc.publicKey)), kid: 'enc-1', use: 'enc', alg: 'RSA-OAEP' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256' },
      ],
    };
    server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  after(async () => {
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('resolves without fetching again, and an unknown kid still gets its one refetch', async () => {
    const keys = new ProviderKeys(jwksUri, http.fetch);
    await keys.load();
    assert.equal(requests, 1);
    await keys.warm(['RS256']);
    assert.equal(requests, 1, 'warming fetches nothing');

    const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256', kid: 'sig-1' }).sign(signer);
    const { payload } = await jwtVerify(token, keys.getKey, { algorithms: ['RS256'] });
    assert.equal(payload.sub, 'alice');

    const rotated = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'RS256', kid: 'rotated' }).sign(signer);
    await assert.rejects(jwtVerify(rotated, keys.getKey, { algorithms: ['RS256'] }));
    assert.equal(requests, 2, 'the unknown kid fetched the JWKS once: warming did not use up the refetch');
  });

  it('does nothing before a load', async () => {
    const before = requests;
    await new ProviderKeys(jwksUri, http.fetch).warm(['RS256']);
    assert.equal(requests, before);
  });
});
