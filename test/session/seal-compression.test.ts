/**
 * When a sealed document is deflated: a small one (a session of tokens, under 2 KB of JSON) is sealed as it
 * is, a large one that compresses (many similar group names) deflated, a large one that does not (random
 * names) sealed as it is because that is shorter; every one opens back to the same document.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { SealBox } from '../../src/session/seal.js';
import { sealBoxesFor } from '../helpers/seal.js';

const gateway = { server: { publicUrl: 'https://app.example.com' }, oidc: { issuer: 'https://idp.example.com', clientId: 'authgate' } };
/**
 * The sealed text's length for a plain document of `jsonLength` characters: secure-session adds its
 * timestamp (18 characters) and secretbox 16 bytes, base64url 4/3, then "." and the nonce (32).
 */
const plainSealedLength = (jsonLength: number) => Math.ceil(((jsonLength + 34) * 4) / 3) + 1 + 32;

describe('sealed documents: compression', () => {
  let box: SealBox;
  before(async () => {
    ({ session: box } = await sealBoxesFor([randomBytes(32).toString('base64')], gateway));
  });

  const roundTrip = (data: Record<string, unknown>) => {
    const sealed = box.seal(data);
    assert.deepEqual(box.open(sealed)?.data, data);
    return sealed.length;
  };

  it('seals a session of tokens under 2 KB as it is', () => {
    const data = { tokens: { accessToken: randomBytes(600).toString('base64url'), idToken: randomBytes(700).toString('base64url') } };
    assert.ok(JSON.stringify(data).length > 1024 && JSON.stringify(data).length <= 2048);
    assert.ok(Math.abs(roundTrip(data) - plainSealedLength(JSON.stringify(data).length)) <= 4);
  });

  it('deflates a large document that compresses', () => {
    const data = { groups: Array.from({ length: 150 }, (_, i) => `team-platform-engineering-${i}`) };
    assert.ok(roundTrip(data) < plainSealedLength(JSON.stringify(data).length) / 2);
  });

  it('seals a large document that does not compress as it is', () => {
    const data = { groups: Array.from({ length: 60 }, () => randomBytes(24).toString('base64url')) };
    assert.ok(Math.abs(roundTrip(data) - plainSealedLength(JSON.stringify(data).length)) <= 4);
  });
});
